"""List hygiene on the dashboard: a contact's invalid status and streak, the numbers a
campaign made invalid, and the plan's saving."""

from __future__ import annotations

from tests.factories import make_campaign, numbers
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.models import Contact, ContactInvalidation, ContactStatus, Role

REASON = "2 permanent delivery failures in a row; the last: deleted, code 0"


def _contact(database: Database, n: int, **values: object) -> int:
    with database.write() as session:
        contact = Contact(phone=numbers(n + 1)[n], country="US", attributes={}, **values)
        session.add(contact)
        session.flush()
        return contact.id


def _invalidate(database: Database, contact_id: int, campaign_id: int | None) -> None:
    with database.write() as session:
        session.add(
            ContactInvalidation(
                contact_id=contact_id, campaign_id=campaign_id, reason=REASON, message_ids=[4, 8]
            )
        )


def test_an_invalid_contact_shows_why_with_the_evidence_and_editors_can_restore_it(
    signed_in: SignedIn, database: Database
) -> None:
    contact_id = _contact(database, 0, status=ContactStatus.INVALID, failure_streak=2)
    _invalidate(database, contact_id, None)
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        seen = viewer.get(f"/contacts/{contact_id}").text
        edited = editor.get(f"/contacts/{contact_id}").text
    assert f"This number is invalid: {REASON}" in seen
    assert '<dd class="mono" id="contact-invalid-evidence">4, 8</dd>' in seen
    assert 'id="contact-restore"' not in seen
    assert f'data-api-action="POST /api/v1/contacts/{contact_id}/restore"' in edited


def test_a_streak_under_the_threshold_is_shown_as_it_counts(
    signed_in: SignedIn, database: Database
) -> None:
    counting = _contact(database, 0, failure_streak=1, failed_message_ids=[12])
    healthy = _contact(database, 1)
    with signed_in(Role.VIEWER) as client:
        page = client.get(f"/contacts/{counting}").text
        clean = client.get(f"/contacts/{healthy}").text
    assert "1 permanent delivery failure in a row so far (messages 12)" in page
    assert 'id="contact-hygiene"' not in clean


def test_a_campaign_page_lists_the_numbers_it_made_invalid(
    signed_in: SignedIn, database: Database
) -> None:
    campaign = make_campaign(database, numbers(2), launch=True)
    contact_id = _contact(database, 0, status=ContactStatus.INVALID)
    _invalidate(database, contact_id, campaign.id)
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        seen = viewer.get(f"/campaigns/{campaign.id}").text
        edited = editor.get(f"/campaigns/{campaign.id}").text
        restored = editor.post(f"/api/v1/contacts/{contact_id}/restore")
        after = editor.get(f"/campaigns/{campaign.id}").text
    assert 'id="invalidated"' in seen and REASON in seen and numbers(1)[0] in seen
    assert "hygiene-restore" not in seen
    assert f'data-api-action="POST /api/v1/contacts/{contact_id}/restore"' in edited
    assert restored.status_code == 200, restored.text
    assert "restored by" in after and "hygiene-restore" not in after


def test_the_plan_says_what_hygiene_left_out_and_saved(
    signed_in: SignedIn, database: Database
) -> None:
    _contact(database, 0, status=ContactStatus.INVALID)
    _contact(database, 1, status=ContactStatus.INVALID)
    campaign = make_campaign(database, numbers(3), body="Sale today. Reply STOP to opt out")
    with signed_in(Role.EDITOR, prices={"US": 0.02}) as client:
        page = client.get(f"/campaigns/{campaign.id}/plan").text
    assert "2 numbers left out as invalid (list hygiene), saving 0.04 USD." in page
