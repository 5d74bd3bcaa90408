"""Reading campaigns: one by id, and pages of them. (A campaign's figures and its messages are
reporting's: `reporting.figures`, `reporting.messages`.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, NotFound
from textcast.models import Campaign, CampaignStatus


def get_campaign(session: Session, campaign_id: int, *, for_update: bool = False) -> Campaign:
    """`for_update`: locked until the transaction ends (changes of a campaign take turns)."""
    campaign = session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def family_ids(session: Session, campaign_id: int) -> list[int]:
    """The campaign and the campaigns under it (an A/B test's cells and its rest): what its
    figures, messages and analytics are made of. An ordinary campaign is its own family."""
    children = session.scalars(
        select(Campaign.id).where(Campaign.parent_id == campaign_id).order_by(Campaign.id)
    )
    return [campaign_id, *children]


def refuse_part_of_test(campaign: Campaign, act: str) -> None:
    """A campaign under an A/B test's is the test's to run: it cannot be `act` by itself."""
    if campaign.parent_id is not None:
        raise Conflict(
            f"campaign {campaign.id} sends part of campaign {campaign.parent_id}'s A/B test; "
            f"it cannot be {act} by itself (campaign {campaign.parent_id} can)"
        )


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
    # The campaigns under an A/B test's are shown with it (its `test`), not beside it.
    query = (
        select(Campaign)
        .where(Campaign.parent_id.is_(None))
        .order_by(Campaign.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    if search and search.strip():
        # autoescape: a `%` or `_` searched for is that character, not LIKE's wildcard.
        query = query.where(Campaign.name.icontains(search.strip(), autoescape=True))
    return list(session.scalars(query))
