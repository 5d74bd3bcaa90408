"""Screening claims: what every campaign counts as spent, budget or not."""

from __future__ import annotations

import pytest
from tests.factories import claim_batch, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.audience import contacts
from textcast.domain.audience.contacts import ContactDraft
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


def test_spend_prices_a_contact_by_its_country_and_a_number_by_its_calling_code(
    database: Database,
) -> None:
    """A contact's stored country is more precise than its number's calling code (a Canadian
    number shares +1 with the US); a plain number is priced by its calling code."""
    policy = sending_policy(
        load_settings(secret_key="k" * 32, prices={"US": 0.01, "CA": 0.02, "GB": 0.05})
    )
    canadian, american, british = "+12015550100", "+12015550101", "+447911123456"
    with database.write() as session:
        contacts.create_contact(
            session, ContactDraft(canadian, country="CA"), "US", source="api", secret=policy.secret
        )
        draft = campaigns.CampaignDraft(
            name="c", body="Sale today", recipients=[canadian, american, british, american]
        )
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 10, policy.secret, policy=policy)
        assert batch is not None and len(batch.recipients) == 3
    with database.read() as session:
        assert campaigns.get_campaign(session, campaign.id).spent == pytest.approx(0.08)
