"""Claiming messages into batches: what a claim counts as spent."""

from __future__ import annotations

import pytest
from tests.factories import claim_batch, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.runtime import sending_policy


def test_every_campaign_counts_what_its_claims_cost(database: Database) -> None:
    """Not only campaigns with a budget: spend is what the dashboard and analytics report."""
    policy = sending_policy(load_settings(secret_key="k" * 32, prices={"US": 0.01}))
    draft = campaigns.CampaignDraft(name="c", body="Sale today", recipients=numbers(3))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy)
    for claimed in (2, 1):
        with database.write() as session:
            batch = claim_batch(session, campaign.id, 2, policy.secret, policy=policy)
            assert batch is not None and len(batch.recipients) == claimed
    with database.read() as session:
        spent = campaigns.get_campaign(session, campaign.id)
        assert spent.budget is None
        assert spent.spent == pytest.approx(0.03)
        assert spent.estimated_cost == pytest.approx(0.03)
