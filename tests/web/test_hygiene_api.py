"""List hygiene over HTTP: restoring a contact, a campaign's invalidated numbers, the setting."""

from __future__ import annotations

from sqlalchemy import select
from tests.factories import authorize, make_campaign, numbers
from tests.web.apps import app_client

from textcast.db import Database
from textcast.models import AuditEntry, Contact, ContactInvalidation, ContactStatus
from textcast.runtime import Runtime
from textcast.vocabulary import Role


def _invalid_contact(database_url: str, campaign_id: int | None = None) -> int:
    database = Database(database_url)
    with database.write() as session:
        contact = Contact(
            phone=numbers(1)[0],
            country="US",
            attributes={},
            status=ContactStatus.INVALID,
            failure_streak=2,
            failed_message_ids=[7, 9],
        )
        session.add(contact)
        session.flush()
        session.add(
            ContactInvalidation(
                contact_id=contact.id,
                campaign_id=campaign_id,
                reason="2 permanent delivery failures in a row; the last: deleted, code 0",
                message_ids=[7, 9],
            )
        )
        contact_id = contact.id
    database.dispose()
    return contact_id


def test_restoring_subscribes_again_clears_the_streak_and_is_audited(database_url: str) -> None:
    campaign = make_campaign(Database(database_url), numbers(1))
    contact_id = _invalid_contact(database_url, campaign.id)
    with app_client(database_url) as client:
        authorize(client, database_url, Role.EDITOR)
        listed = client.get(f"/api/v1/campaigns/{campaign.id}/invalidated").json()
        assert [(row["contact_id"], row["message_ids"]) for row in listed] == [(contact_id, [7, 9])]
        before = client.get(f"/api/v1/contacts/{contact_id}/hygiene").json()
        assert (before["status"], before["failure_streak"]) == ("invalid", 2)
        assert before["failed_message_ids"] == [7, 9]
        assert before["invalidations"][0]["campaign_id"] == campaign.id
        restored = client.post(f"/api/v1/contacts/{contact_id}/restore")
        assert restored.status_code == 200, restored.text
        cleared = client.get(f"/api/v1/contacts/{contact_id}/hygiene").json()
        assert (cleared["failure_streak"], cleared["failed_message_ids"]) == (0, [])
        assert cleared["invalidations"][0]["restored_at"] is not None
        assert restored.json()["status"] == "subscribed"
        after = client.get(f"/api/v1/campaigns/{campaign.id}/invalidated").json()[0]
    assert after["restored_at"] is not None and after["restored_by"]
    database = Database(database_url)
    with database.read() as session:
        contact = session.get_one(Contact, contact_id)
        assert (contact.failure_streak, contact.failed_message_ids) == (0, None)
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact.restore")
        ).one()
    assert entry.target == f"contact:{contact_id}"


def test_only_an_invalid_contact_is_restored_and_only_by_an_editor(database_url: str) -> None:
    contact_id = _invalid_contact(database_url)
    with app_client(database_url) as client:
        authorize(client, database_url, Role.VIEWER)
        assert client.post(f"/api/v1/contacts/{contact_id}/restore").status_code == 403
        authorize(client, database_url, Role.EDITOR)
        assert client.post(f"/api/v1/contacts/{contact_id}/restore").status_code == 200
        again = client.post(f"/api/v1/contacts/{contact_id}/restore")
        assert again.status_code == 409
        assert "this contact is subscribed, not invalid" in again.text
        assert client.post("/api/v1/contacts/999/restore").status_code == 404
        assert client.get("/api/v1/campaigns/999/invalidated").status_code == 404
        assert client.get("/api/v1/contacts/999/hygiene").status_code == 404


def test_the_failures_setting_is_changed_from_the_dashboard_and_used_at_once(
    database_url: str,
) -> None:
    with app_client(database_url) as client:
        authorize(client, database_url, Role.ADMIN)
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert runtime.committer.invalid_after() == 2
        refused = client.patch("/api/v1/settings", json={"INVALID_AFTER_FAILURES": -1})
        assert refused.status_code == 400
        assert "INVALID_AFTER_FAILURES" in refused.text
        changed = client.patch("/api/v1/settings", json={"INVALID_AFTER_FAILURES": 3})
        assert changed.status_code == 200, changed.text
        assert runtime.committer.invalid_after() == 3
