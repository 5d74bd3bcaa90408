"""A known gap, written down so that it cannot be forgotten: the figures of a campaign under an
A/B test (`GET /api/v1/campaigns/{id}`, the campaign page) count its own messages, and it has
none; its variants' campaigns and the rest hold them all."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from tests.domain.test_ab_tests import POLICY, later, make_test

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.reporting import figures
from textcast.models import AbMetric, Campaign, CampaignStatus, Message, MessageStatus


@pytest.mark.xfail(
    strict=True,
    reason="figures.campaign_figures reads only the campaign's own messages (domain/reporting)",
)
def test_a_completed_test_counts_what_its_campaigns_sent(database: Database) -> None:
    campaign_id = make_test(database, metric=AbMetric.DELIVERY)
    with database.write() as session:
        children = list(
            session.scalars(select(Campaign.id).where(Campaign.parent_id == campaign_id))
        )
        session.execute(
            update(Message)
            .where(Message.campaign_id.in_(children))
            .values(status=MessageStatus.DELIVERED, sent_at=later(1))
        )
        campaigns.complete_finished_campaigns(session, later(2))
        experiments.decide(session, campaign_id, POLICY, now=later(3), pick="A")
        session.execute(
            update(Message)
            .where(Message.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.DELIVERED, sent_at=later(4))
        )
        campaigns.complete_finished_campaigns(session, later(5))
        campaigns.complete_finished_campaigns(session, later(5))
    with database.read() as session:
        parent = session.get(Campaign, campaign_id)
        assert parent is not None and parent.status == CampaignStatus.COMPLETED
        counted = figures.campaign_figures(session, campaign_id, POLICY.prices)
    assert (counted.messages, counted.sent, counted.delivered) == (100, 100, 100)
