"""A/B tests' use cases: a scheduled test changed or deleted goes back to a draft first, a copy
keeps its test, a pick is audited, a cancelled campaign's test is never decided."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.factories import numbers

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.errors import Conflict
from textcast.models import AbMetric, AbState, Campaign, CampaignStatus, Message, utcnow
from textcast.services import campaigns as campaign_service

ANA = Actor("ana@example.com", None, "192.0.2.1")
# Quiet hours that never bite, whatever the hour the suite runs at.
POLICY = Policy(
    prices=PriceTable({"US": 0.01}, currency="USD"),
    rules=Rules.from_table("00:00-24:00", {}),
    send_rate=10,
)
TEST = experiments.AbTestDraft(
    bodies=("Spring sale today. STOP to end", "Last day of the sale. STOP to end"),
    metric=AbMetric.DELIVERY,
    min_sample=5,
)


def scheduled_test(database: Database) -> Campaign:
    draft = campaigns.CampaignDraft(
        name="Spring",
        body=TEST.bodies[0],
        recipients=numbers(50),
        send_at=utcnow() + timedelta(days=1),
    )
    campaign = campaign_service.create(database, ANA, draft, "US", test=TEST)
    return campaign_service.launch(database, ANA, campaign.id, POLICY)


def children(database: Database, campaign_id: int) -> int:
    with database.read() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Campaign).where(Campaign.parent_id == campaign_id)
            )
            or 0
        )


def test_a_scheduled_test_changed_before_its_start_is_a_draft_again(database: Database) -> None:
    campaign = scheduled_test(database)
    assert campaign.status == CampaignStatus.SCHEDULED
    assert children(database, campaign.id) == 3  # A, B and the rest
    edited = campaign_service.edit(
        database, ANA, campaign.id, {"body": "Spring sale, now 30% off. STOP to end"}, "US"
    )
    assert edited.unscheduled and edited.campaign.status == CampaignStatus.DRAFT
    assert children(database, campaign.id) == 0
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        test = experiments.ab_test_of(session, campaign.id)
        assert test is not None and test.state == AbState.DRAFT
        first = experiments.variants_of(session, campaign.id)[0]
        assert first.body == "Spring sale, now 30% off. STOP to end"
    again = campaign_service.launch(database, ANA, campaign.id, POLICY)
    assert again.status == CampaignStatus.SCHEDULED
    assert children(database, campaign.id) == 3


def test_a_scheduled_test_deleted_takes_its_variants_messages_along(database: Database) -> None:
    campaign = scheduled_test(database)
    campaign_service.delete(database, ANA, campaign.id)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_copy_keeps_the_test_as_a_draft_with_a_new_seed(database: Database) -> None:
    campaign = scheduled_test(database)
    copy = campaign_service.duplicate(database, ANA, campaign.id)
    with database.read() as session:
        original = experiments.ab_test_of(session, campaign.id)
        copied = experiments.ab_test_of(session, copy.id)
        assert original is not None and copied is not None
        assert copied.state == AbState.DRAFT and copied.seed != original.seed
        assert [v.body for v in experiments.variants_of(session, copy.id)] == list(TEST.bodies)


def test_a_pick_is_audited_and_a_cancelled_test_is_never_decided(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Now", body=TEST.bodies[0], recipients=numbers(50))
    campaign = campaign_service.create_and_launch(database, ANA, draft, "US", POLICY, test=TEST)
    test = campaign_service.pick_winner(database, ANA, campaign.id, POLICY, "B")
    assert (test.winner, test.decided_by) == ("B", "ana@example.com")
    with database.read() as session:
        entries = audit.entries(session, limit=10)
    assert entries[0].action == "campaign.test_decided"
    assert entries[0].detail == {"winner": "B", "picked": True}

    other = campaign_service.create_and_launch(database, ANA, draft, "US", POLICY, test=TEST)
    campaign_service.cancel(database, ANA, other.id)
    with pytest.raises(Conflict, match="cancelled"):
        campaign_service.pick_winner(database, ANA, other.id, POLICY, "A")
