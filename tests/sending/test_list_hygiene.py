"""List hygiene end to end: the simulator fails some numbers for good and others for now;
two campaigns make exactly the first ones invalid, and the third campaign's plan leaves them
out with what that saves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.factories import numbers
from tests.sending.stack import Stack, sending_stack
from typer.testing import CliRunner

from textcast.cli import app as cli
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.models import AuditEntry, Contact, ContactInvalidation, ContactStatus
from textcast.simulator import ALL_DELIVERED, Outcome, SimulatorConfig

FAST = {"queued_delay": 0.01, "dispatch_delay": 0.02, "final_delay": 0.05, "seed": 5}
AUDIENCE = numbers(150)
DEAD = AUDIENCE[:50]
"""Permanent failures: half Deleted, half Failed with the operator's 'invalid destination'."""
FLAKY = AUDIENCE[50:100]
"""Temporary failures (Aborted 404): they never count."""
PRICE = 0.01


def _simulator() -> SimulatorConfig:
    chosen = {n: Outcome("Deleted", 0, 1.0) for n in DEAD[:25]}
    chosen.update({n: Outcome("Failed", 11, 1.0) for n in DEAD[25:]})
    chosen.update({n: Outcome("Aborted", 404, 1.0, operator=False) for n in FLAKY})
    return SimulatorConfig(outcomes=ALL_DELIVERED, number_outcomes=chosen, **FAST)  # type: ignore[arg-type]


def _add_contacts(database_url: str) -> dict[str, int]:
    database = Database(database_url)
    with database.write() as session:
        session.add_all(Contact(phone=n, country="US", attributes={}) for n in AUDIENCE)
    with database.read() as session:
        ids = {phone: id_ for phone, id_ in session.execute(select(Contact.phone, Contact.id))}
    database.dispose()
    return ids


def _campaign(stack: Stack, name: str) -> int:
    created: dict[str, Any] = stack.api.post(
        "/api/v1/campaigns", json={"name": name, "body": "Sale today", "recipients": AUDIENCE}
    ).json()
    return int(created["id"])


def _send(stack: Stack, name: str) -> int:
    campaign_id = _campaign(stack, name)
    assert stack.api.post(f"/api/v1/campaigns/{campaign_id}/send").status_code == 202
    stack.wait_until_final(campaign_id)
    return campaign_id


def _contacts(database_url: str) -> dict[str, Contact]:
    database = Database(database_url)
    with database.read() as session:
        found = {c.phone: c for c in session.scalars(select(Contact))}
    database.dispose()
    return found


def test_two_campaigns_make_exactly_the_dead_numbers_invalid_and_the_third_plan_saves_them(
    database_url: str,
) -> None:
    ids = _add_contacts(database_url)
    with sending_stack(
        database_url, _simulator(), prices={"US": PRICE}, invalid_after_failures=2
    ) as stack:
        first = _send(stack, "first")
        after_one = _contacts(database_url)
        assert {n for n, c in after_one.items() if c.status == ContactStatus.INVALID} == set()
        assert {n for n, c in after_one.items() if c.failure_streak == 1} == set(DEAD)
        assert stack.api.get(f"/api/v1/campaigns/{first}/invalidated").json() == []

        second = _send(stack, "second")
        after_two = _contacts(database_url)
        invalid = {n for n, c in after_two.items() if c.status == ContactStatus.INVALID}
        assert invalid == set(DEAD)
        assert all(after_two[n].failure_streak == 0 for n in FLAKY)
        assert all(after_two[n].status == ContactStatus.SUBSCRIBED for n in FLAKY)

        listed = stack.api.get(f"/api/v1/campaigns/{second}/invalidated").json()
        assert {row["phone"] for row in listed} == set(DEAD)
        deleted = next(row for row in listed if row["phone"] == DEAD[0])
        assert "2 permanent delivery failures in a row" in deleted["reason"]
        assert "deleted, code 0" in deleted["reason"]
        assert len(deleted["message_ids"]) == 2
        failed = next(row for row in listed if row["phone"] == DEAD[-1])
        assert "failed, code 11" in failed["reason"]

        third = _campaign(stack, "third")
        plan = stack.api.post(f"/api/v1/campaigns/{third}/plan").json()
        assert plan["excluded"] == {"invalid": 50}
        assert plan["recipients"] == 100
        assert plan["hygiene_left_out"] == 50
        assert plan["hygiene_saving"] == 0.5
        assert plan["hygiene"] == ("50 numbers left out as invalid (list hygiene), saving 0.50 USD")

        restored = stack.api.post(f"/api/v1/contacts/{ids[DEAD[0]]}/restore")
        assert restored.status_code == 200, restored.text
        assert restored.json()["status"] == "subscribed"
        again = stack.api.post(f"/api/v1/contacts/{ids[DEAD[0]]}/restore")
        assert again.status_code == 409
        assert "only an invalid number can be restored" in again.text
        row = next(
            r
            for r in stack.api.get(f"/api/v1/campaigns/{second}/invalidated").json()
            if r["phone"] == DEAD[0]
        )
        assert row["contact_status"] == "subscribed" and row["restored_by"]

    by_cli = CliRunner().invoke(
        cli, ["contacts", "restore", DEAD[1]], env={"DATABASE_URL": database_url}
    )
    assert by_cli.exit_code == 0, by_cli.output
    assert "(subscribed)" in by_cli.output
    by_id = CliRunner().invoke(
        cli, ["contacts", "restore", str(ids[DEAD[2]])], env={"DATABASE_URL": database_url}
    )
    assert by_id.exit_code == 0, by_id.output
    refused = CliRunner().invoke(
        cli, ["contacts", "restore", str(ids[FLAKY[0]])], env={"DATABASE_URL": database_url}
    )
    assert refused.exit_code == 1
    assert "only an invalid number can be restored" in " ".join(refused.output.split())

    database = Database(database_url)
    with database.read() as session:
        restores = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact.restore")
        ).all()
        open_invalidations = session.scalars(
            select(ContactInvalidation).where(ContactInvalidation.restored_at.is_(None))
        ).all()
    database.dispose()
    assert sorted(e.target or "" for e in restores) == sorted(f"contact:{ids[n]}" for n in DEAD[:3])
    assert {e.actor for e in restores if e.target == f"contact:{ids[DEAD[1]]}"} == {audit.CLI_ACTOR}
    assert len(open_invalidations) == 47
