"""Campaign use cases: each commits its act with its audit entry; a refused one writes neither."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.factories import make_campaign, make_user, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import contacts
from textcast.domain.errors import Conflict, InvalidInput, NotFound
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ContactStatus,
    Message,
)
from textcast.runtime import sending_policy
from textcast.services import campaigns as campaign_services

SECRET = "k" * 32


@dataclass(frozen=True, slots=True)
class Written:
    """What the database holds: enough to tell that nothing was written."""

    campaigns: list[tuple[int, str]]
    messages: int
    entries: list[tuple[str, str, str | None, dict[str, Any], int | None, str | None]]


def _written(database: Database) -> Written:
    with database.read() as session:
        return Written(
            campaigns=[
                (c.id, c.status) for c in session.scalars(select(Campaign).order_by(Campaign.id))
            ],
            messages=session.scalar(select(func.count()).select_from(Message)) or 0,
            entries=[
                (e.actor, e.action, e.target, e.detail, e.user_id, e.ip)
                for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ],
        )


def _policy(**settings: Any) -> campaigns.Policy:
    return sending_policy(load_settings(secret_key=SECRET, **settings))


def _actor(database: Database) -> Actor:
    user = make_user(database, "editor@example.com")
    return Actor("editor@example.com", user.id, "203.0.113.7")


def _entries(database: Database, actor: Actor) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The entries written, each checked to name the actor."""
    entries = _written(database).entries
    assert all(e[0] == actor.label and e[4:] == (actor.user_id, actor.ip) for e in entries)
    return [(action, target, detail) for _, action, target, detail, _, _ in entries]


def _draft(**options: Any) -> campaigns.CampaignDraft:
    return campaigns.CampaignDraft(
        name="Spring sale", body="20% off today. Reply STOP to opt out.", **options
    )


def test_create_stores_a_draft_and_its_entry(database: Database) -> None:
    actor = _actor(database)
    campaign = campaign_services.create(database, actor, _draft(recipients=numbers(3)), "US")
    assert campaign.status == CampaignStatus.DRAFT
    assert _written(database).campaigns == [(campaign.id, CampaignStatus.DRAFT)]
    assert _entries(database, actor) == [("campaign.create", f"campaign:{campaign.id}", {})]


def test_a_refused_create_writes_nothing(database: Database) -> None:
    actor = _actor(database)
    before = _written(database)
    with pytest.raises(InvalidInput):
        campaign_services.create(database, actor, _draft(recipients=["x"]), "US")
    assert _written(database) == before


def test_launch_queues_the_messages_and_records_the_recipients(database: Database) -> None:
    actor = _actor(database)
    draft = make_campaign(database, numbers(3))
    campaign = campaign_services.launch(database, actor, draft.id, _policy())
    assert campaign.status == CampaignStatus.SENDING
    written = _written(database)
    assert written.campaigns == [(draft.id, CampaignStatus.SENDING)]
    assert written.messages == 3
    assert _entries(database, actor) == [
        ("campaign.send", f"campaign:{draft.id}", {"recipients": 3})
    ]


def test_a_campaign_already_sent_is_not_launched_again(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(3), launch=True)
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.launch(database, actor, campaign.id, _policy())
    assert _written(database) == before


def test_create_and_launch_records_both_acts(database: Database) -> None:
    campaign = campaign_services.create_and_launch(
        database, audit.CLI, _draft(recipients=numbers(2)), "US", _policy()
    )
    assert campaign.status == CampaignStatus.SENDING
    assert _written(database).messages == 2
    target = f"campaign:{campaign.id}"
    assert _entries(database, audit.CLI) == [
        ("campaign.create", target, {}),
        ("campaign.send", target, {"recipients": 2}),
    ]


def test_a_refused_launch_leaves_no_draft_behind(database: Database) -> None:
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.create_and_launch(
            database,
            audit.CLI,
            _draft(recipients=numbers(3)),
            "US",
            _policy(max_recipients_per_campaign=2),
        )
    assert _written(database) == before


def test_a_plan_writes_nothing(database: Database) -> None:
    campaign = make_campaign(database, numbers(4))
    before = _written(database)
    result = campaign_services.plan(database, campaign.id, _policy())
    assert result.totals.recipients == 4
    assert _written(database) == before


def test_pause_then_resume(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(3), launch=True)
    paused = campaign_services.pause(database, actor, campaign.id)
    assert paused.status == CampaignStatus.PAUSED
    assert _written(database).campaigns == [(campaign.id, CampaignStatus.PAUSED)]
    resumed = campaign_services.resume(database, actor, campaign.id)
    assert resumed.status == CampaignStatus.SENDING
    assert _written(database).campaigns == [(campaign.id, CampaignStatus.SENDING)]
    target = f"campaign:{campaign.id}"
    assert _entries(database, actor) == [
        ("campaign.pause", target, {}),
        ("campaign.resume", target, {}),
    ]


def test_a_draft_is_neither_paused_nor_resumed(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database)
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.pause(database, actor, campaign.id)
    with pytest.raises(Conflict):
        campaign_services.resume(database, actor, campaign.id)
    assert _written(database) == before


def test_set_budget_records_the_amount(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database)
    assert campaign_services.set_budget(database, actor, campaign.id, 12.5).budget == 12.5
    with database.read() as session:
        assert campaigns.get_campaign(session, campaign.id).budget == 12.5
    assert _entries(database, actor) == [
        ("campaign.budget", f"campaign:{campaign.id}", {"budget": 12.5})
    ]
    before = _written(database)
    with pytest.raises(InvalidInput):
        campaign_services.set_budget(database, actor, campaign.id, 0)
    assert _written(database) == before


def test_cancel_returns_the_batches_left_at_the_provider(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(3), launch=True)
    cancelled, provider_ids = campaign_services.cancel(database, actor, campaign.id)
    assert cancelled.status == CampaignStatus.CANCELLED
    assert provider_ids == []  # nothing was handed to the provider yet
    assert _written(database).campaigns == [(campaign.id, CampaignStatus.CANCELLED)]
    assert _entries(database, actor) == [("campaign.cancel", f"campaign:{campaign.id}", {})]
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.cancel(database, actor, campaign.id)
    assert _written(database) == before


def test_duplicate_is_recorded_as_a_creation_of_the_copy(database: Database) -> None:
    actor = _actor(database)
    source = make_campaign(database, numbers(3))
    copy = campaign_services.duplicate(database, actor, source.id)
    assert (copy.status, copy.recipient_count) == (CampaignStatus.DRAFT, 3)
    assert _entries(database, actor) == [
        ("campaign.create", f"campaign:{copy.id}", {"duplicate_of": source.id})
    ]
    before = _written(database)
    with pytest.raises(NotFound):
        campaign_services.duplicate(database, actor, source.id + 100)
    assert _written(database) == before


def test_a_test_send_is_its_own_campaign_recorded_against_the_tested_one(
    database: Database,
) -> None:
    actor = _actor(database)
    source = make_campaign(database, numbers(3))
    test = campaign_services.send_test(database, actor, source.id, "+12015550199", "US", _policy())
    assert (test.kind, test.status, test.recipient_count) == (
        CampaignKind.TEST,
        CampaignStatus.SENDING,
        1,
    )
    assert _written(database).campaigns == [
        (source.id, CampaignStatus.DRAFT),
        (test.id, CampaignStatus.SENDING),
    ]
    assert _entries(database, actor) == [("campaign.test", f"campaign:{source.id}", {})]


def test_no_test_goes_to_a_number_that_opted_out(database: Database) -> None:
    actor = _actor(database)
    source = make_campaign(database)
    with database.write() as session:
        contact = contacts.create_contact(
            session, contacts.ContactDraft(phone="+12015550199"), "US", "test", SECRET.encode()
        )
        contact.status = ContactStatus.UNSUBSCRIBED
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.send_test(database, actor, source.id, "+12015550199", "US", _policy())
    assert _written(database) == before


def test_edit_records_the_fields_changed(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(3))
    edited = campaign_services.edit(
        database, actor, campaign.id, {"body": "New text", "name": "Test campaign"}, "US"
    )
    assert edited.campaign.body == "New text" and edited.changed == ["body"]
    assert _entries(database, actor) == [
        ("campaign.update", f"campaign:{campaign.id}", {"fields": ["body"]})
    ]


def test_editing_a_scheduled_campaign_records_that_it_is_a_draft_again(
    database: Database,
) -> None:
    actor = _actor(database)
    later = datetime.now(UTC) + timedelta(days=1)
    scheduled = campaign_services.create_and_launch(
        database, actor, _draft(recipients=numbers(2), send_at=later), "US", _policy()
    )
    assert scheduled.status == CampaignStatus.SCHEDULED
    campaign_services.edit(database, actor, scheduled.id, {"name": "Later"}, "US")
    assert _written(database).campaigns == [(scheduled.id, CampaignStatus.DRAFT)]
    assert _written(database).messages == 0
    assert _entries(database, actor)[-1] == (
        "campaign.update",
        f"campaign:{scheduled.id}",
        {"fields": ["name"], "unscheduled": True},
    )


def test_a_refused_edit_writes_nothing(database: Database) -> None:
    actor = _actor(database)
    draft = make_campaign(database, numbers(3))
    sent = make_campaign(database, numbers(3), launch=True)
    before = _written(database)
    with pytest.raises(InvalidInput):
        campaign_services.edit(database, actor, draft.id, {"body": ""}, "US")
    with pytest.raises(Conflict):
        campaign_services.edit(database, actor, sent.id, {"body": "x"}, "US")
    with pytest.raises(NotFound):
        campaign_services.edit(database, actor, 999_999, {"body": "x"}, "US")
    assert _written(database) == before


def test_delete_removes_the_draft_and_records_its_name(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(3))
    deleted = campaign_services.delete(database, actor, campaign.id)
    assert deleted.campaign_id == campaign.id
    assert _written(database).campaigns == []
    assert _entries(database, actor) == [
        (
            "campaign.delete",
            f"campaign:{campaign.id}",
            {"name": "Test campaign", "status": "draft"},
        )
    ]


def test_a_refused_delete_writes_nothing(database: Database) -> None:
    actor = _actor(database)
    sent = make_campaign(database, numbers(3), launch=True)
    before = _written(database)
    with pytest.raises(Conflict):
        campaign_services.delete(database, actor, sent.id)
    assert _written(database) == before


def test_a_launch_to_nobody_is_refused_and_writes_nothing(database: Database) -> None:
    actor = _actor(database)
    campaign = make_campaign(database, numbers(1))
    with database.write() as session:
        contact = contacts.create_contact(
            session, contacts.ContactDraft(numbers(1)[0]), "US", "test", SECRET.encode()
        )
        contact.status = ContactStatus.UNSUBSCRIBED
    before = _written(database)
    with pytest.raises(Conflict, match="the audience is empty"):
        campaign_services.launch(database, actor, campaign.id, _policy())
    assert _written(database) == before
