"""Builders with defaults, so each test states only what it is about."""

from __future__ import annotations

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Campaign


def numbers(count: int, start: int = 0) -> list[str]:
    """Fictional, valid North American mobile-capable numbers."""
    return [f"+1201{555 + (i // 10_000):03d}{i % 10_000:04d}" for i in range(start, start + count)]


def make_campaign(
    database: Database,
    recipients: list[str] | None = None,
    *,
    body: str = "Spring sale: 20% off today. Reply STOP to opt out.",
    launch: bool = False,
) -> Campaign:
    draft = campaigns.CampaignDraft(
        name="Test campaign", body=body, recipients=recipients or numbers(3)
    )
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        if launch:
            campaigns.launch_campaign(session, campaign.id)
    return campaign
