"""Reading campaigns: one by id, and pages of them. (A campaign's figures and its messages are
reporting's: `reporting.figures`, `reporting.messages`.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.errors import NotFound
from textcast.models import Campaign, CampaignStatus


def get_campaign(session: Session, campaign_id: int, *, for_update: bool = False) -> Campaign:
    """`for_update`: locked until the transaction ends (changes of a campaign take turns)."""
    campaign = session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def list_campaigns(
    session: Session,
    *,
    before_id: int | None = None,
    limit: int = 50,
    status: CampaignStatus | None = None,
    search: str | None = None,
) -> list[Campaign]:
    """Newest first; `before_id` pages backwards. `status`: only those; `search`: part of the
    name, in any case."""
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    if search and search.strip():
        # autoescape: a `%` or `_` searched for is that character, not LIKE's wildcard.
        query = query.where(Campaign.name.icontains(search.strip(), autoescape=True))
    return list(session.scalars(query))
