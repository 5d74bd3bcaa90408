"""Changing and deleting a campaign before it starts; a launch that would send nothing; times
in the past. A scheduled campaign changed or deleted leaves nothing the dispatcher can claim."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.factories import numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns, outbox
from textcast.domain.audience import consent, contacts, lists
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.errors import Conflict, InvalidInput, NotFound
from textcast.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    ClaimCursor,
    Link,
    Message,
)
from textcast.runtime import sending_policy

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
KEY = b"test-key"


def _draft(**options: object) -> campaigns.CampaignDraft:
    values: dict[str, object] = {"name": "Spring", "body": "Sale today", "recipients": numbers(3)}
    return campaigns.CampaignDraft(**{**values, **options})  # type: ignore[arg-type]


def _create(database: Database, **options: object) -> int:
    with database.write() as session:
        return campaigns.create_campaign(session, _draft(**options), "US", now=NOW).id


def _scheduled(database: Database, body: str = "Sale today") -> int:
    """Launched for LATER, with a short link (so links are written too)."""
    policy = sending_policy_with_links()
    with database.write() as session:
        campaign = campaigns.create_campaign(
            session,
            campaigns.CampaignDraft("Spring", body, numbers(3), send_at=LATER),
            "US",
            now=NOW,
        )
        campaigns.launch_campaign(session, campaign.id, policy, now=NOW)
        assert campaign.status == CampaignStatus.SCHEDULED
        return campaign.id


def sending_policy_with_links() -> campaigns.Policy:
    return sending_policy(
        load_settings(secret_key="k" * 32, short_link_base="https://t.example", prices={"US": 0.01})
    )


def _count(database: Database, table: type, campaign_id: int) -> int:
    with database.read() as session:
        column = table.campaign_id  # type: ignore[attr-defined]
        return session.scalar(select(func.count()).select_from(table).where(column == campaign_id))


def test_a_change_keeps_what_it_does_not_name(database: Database) -> None:
    cid = _create(database, sender="Shop", budget=5.0)
    with database.write() as session:
        edited = campaigns.edit_campaign(
            session, cid, {"body": "Sale ends today", "name": "Spring"}, "US", now=NOW
        )
        assert edited.changed == ["body"] and not edited.unscheduled
    with database.read() as session:
        campaign = session.get_one(Campaign, cid)
        assert (campaign.name, campaign.body) == ("Spring", "Sale ends today")
        assert (campaign.sender, campaign.budget, campaign.recipient_count) == ("Shop", 5.0, 3)
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
    assert _count(database, CampaignRecipient, cid) == 3


def test_new_recipients_replace_the_old_ones(database: Database) -> None:
    cid = _create(database)
    with database.write() as session:
        edited = campaigns.edit_campaign(
            session, cid, {"recipients": numbers(2, start=10)}, "US", now=NOW
        )
        assert edited.changed == ["recipients"] and edited.campaign.recipient_count == 2
    with database.read() as session:
        stored = set(
            session.scalars(
                select(CampaignRecipient.phone).where(CampaignRecipient.campaign_id == cid)
            )
        )
    assert stored == set(numbers(2, start=10))


def test_a_change_is_checked_as_a_new_draft_and_a_refused_one_changes_nothing(
    database: Database,
) -> None:
    cid = _create(database)
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        campaigns.edit_campaign(
            session,
            cid,
            {"name": " ", "recipients": ["nope"], "send_at": NOW - timedelta(hours=1)},
            "US",
            now=NOW,
        )
    assert {p.field for p in refused.value.problems} == {"name", "recipients[0]", "send_at"}
    with database.write() as session, pytest.raises(InvalidInput) as emptied:
        campaigns.edit_campaign(session, cid, {"recipients": []}, "US", now=NOW)
    assert [p.field for p in emptied.value.problems] == ["recipients"]
    with database.read() as session:
        assert session.get_one(Campaign, cid).name == "Spring"
    assert _count(database, CampaignRecipient, cid) == 3


def test_a_time_left_as_it_was_is_not_refused_for_having_passed(database: Database) -> None:
    cid = _create(database, send_at=LATER)
    with database.write() as session:
        edited = campaigns.edit_campaign(
            session, cid, {"name": "Renamed"}, "US", now=LATER + timedelta(hours=1)
        )
    assert edited.campaign.send_at == LATER


def test_past_times_are_refused_unless_within_a_minute(database: Database) -> None:
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        campaigns.create_campaign(
            session,
            _draft(send_at=NOW - timedelta(minutes=2), expires_at=NOW - timedelta(minutes=1.5)),
            "US",
            now=NOW,
        )
    problems = {p.field: p.message for p in refused.value.problems}
    assert problems["send_at"].startswith("is in the past")
    assert problems["expires_at"].startswith("is in the past")
    assert _create(database, send_at=NOW - timedelta(seconds=50)) > 0


def test_editing_a_scheduled_campaign_returns_it_to_draft_without_its_messages(
    database: Database,
) -> None:
    cid = _scheduled(database, "Sale: https://shop.example/spring")
    assert _count(database, Message, cid) == 3 and _count(database, Link, cid) == 3
    with database.write() as session:
        edited = campaigns.edit_campaign(session, cid, {"body": "Sale today"}, "US", now=NOW)
        assert edited.unscheduled
    with database.read() as session:
        campaign = session.get_one(Campaign, cid)
        assert campaign.status == CampaignStatus.DRAFT and campaign.launched_at is None
        assert campaign.recipient_count == 3 and not campaign.short_links
    for table in (Message, Link, ClaimCursor):
        assert _count(database, table, cid) == 0
    # Its time comes: nothing starts, nothing can be claimed.
    with database.write() as session:
        assert campaigns.start_due_campaigns(session, LATER + timedelta(minutes=1)) == []
        assert outbox.claim_batches(session, cid, 10, 5, LATER) == []
    # And it launches again, through every check.
    with database.write() as session:
        campaigns.launch_campaign(session, cid, sending_policy_with_links(), now=NOW)
    assert _count(database, Message, cid) == 3


def test_deleting_a_scheduled_campaign_leaves_nothing_to_claim(database: Database) -> None:
    cid = _scheduled(database)
    with database.write() as session:
        deleted = campaigns.delete_campaign(session, cid, now=NOW)
    assert (deleted.status, deleted.messages) == (CampaignStatus.SCHEDULED, 3)
    for table in (Message, CampaignRecipient, ClaimCursor):
        assert _count(database, table, cid) == 0
    with database.write() as session:
        assert session.get(Campaign, cid) is None
        assert campaigns.start_due_campaigns(session, LATER + timedelta(minutes=1)) == []
        assert outbox.claim_batches(session, cid, 10, 5, LATER) == []
        with pytest.raises(NotFound):
            campaigns.delete_campaign(session, cid, now=NOW)


def test_a_draft_is_deleted_with_its_numbers(database: Database) -> None:
    cid = _create(database)
    with database.write() as session:
        deleted = campaigns.delete_campaign(session, cid, now=NOW)
    assert (deleted.name, deleted.status, deleted.messages) == ("Spring", "draft", 0)
    assert _count(database, CampaignRecipient, cid) == 0


def test_a_campaign_that_started_or_is_due_is_neither_changed_nor_deleted(
    database: Database,
) -> None:
    sending = _create(database)
    scheduled = _scheduled(database)
    with database.write() as session:
        campaigns.launch_campaign(session, sending, now=NOW)
    for cid, now, reason in (
        (sending, NOW, "is sending"),
        (scheduled, LATER, "is starting now"),
    ):
        with database.write() as session, pytest.raises(Conflict, match=reason):
            campaigns.edit_campaign(session, cid, {"body": "x"}, "US", now=now)
        with database.write() as session, pytest.raises(Conflict, match=reason):
            campaigns.delete_campaign(session, cid, now=now)
    assert _count(database, Message, sending) == 3
    assert _count(database, Message, scheduled) == 3


def test_the_dispatcher_never_starts_a_campaign_changed_while_it_waited(
    database: Database, engine_name: str
) -> None:
    """The change holds the campaign's lock; the start that waited for it finds a draft."""
    if engine_name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: nothing runs alongside")
    cid = _scheduled(database)
    started: list[list[int]] = []
    with database.write() as session:
        campaigns.edit_campaign(session, cid, {"body": "New text"}, "US", now=NOW)

        def start_due() -> None:
            with database.write() as other:
                started.append(campaigns.start_due_campaigns(other, LATER))

        waiting = threading.Thread(target=start_due)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # waits for the change's lock
    waiting.join(timeout=10)
    assert started == [[]]
    with database.read() as session:
        assert session.get_one(Campaign, cid).status == CampaignStatus.DRAFT
    assert _count(database, Message, cid) == 0


def _opted_out(database: Database, phone: str) -> None:
    with database.write() as session:
        contact = contacts.create_contact(
            session, ContactDraft(phone), "US", source="api", secret=KEY
        )
        consent.opt_out(session, KEY, contact, consent.Evidence("api"))


def test_a_launch_that_would_send_nothing_is_refused(database: Database) -> None:
    with database.write() as session:
        empty = lists.create_list(session, "nobody yet")
    nobody = _create(database, recipients=[], list_ids=[empty.id])
    with database.write() as session, pytest.raises(Conflict, match="the audience is empty"):
        campaigns.launch_campaign(session, nobody, now=NOW)
    phone = numbers(1, start=50)[0]
    _opted_out(database, phone)
    everyone_out = _create(database, recipients=[phone])
    with (
        database.write() as session,
        pytest.raises(Conflict, match="its only number is left out"),
    ):
        campaigns.launch_campaign(session, everyone_out, now=NOW)
    # Evaluated one by one (a merge field), the messages say why they are left out.
    personal = _create(database, recipients=[phone], body='Hi {{ first_name | default("") }}')
    policy = sending_policy_with_links()
    with database.write() as session, pytest.raises(Conflict, match=r"\(1 opted out\)"):
        campaigns.launch_campaign(session, personal, policy, now=NOW)
    with database.read() as session:
        plan = campaigns.plan(session, session.get_one(Campaign, everyone_out), policy, NOW)
        assert plan.empty and plan.warnings[0].startswith("The audience is empty")
        statuses = set(session.scalars(select(Campaign.status)))
        assert statuses == {CampaignStatus.DRAFT}
    assert _count(database, Message, everyone_out) == 0
