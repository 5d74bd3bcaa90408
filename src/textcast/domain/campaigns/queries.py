"""Reading campaigns: one by id, pages of them, their messages, and the progress of one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain.errors import NotFound
from textcast.models import Campaign, CampaignStatus, Message, MessageStatus

FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.ABORTED,
        MessageStatus.CANCELLED,
        MessageStatus.DELETED,
        MessageStatus.UNKNOWN,
        MessageStatus.SKIPPED,
    }
)


@dataclass(frozen=True, slots=True)
class Progress:
    campaign: Campaign
    counts: dict[str, int]
    total: int

    @property
    def final(self) -> int:
        return sum(n for status, n in self.counts.items() if status in FINAL)


def get_campaign(session: Session, campaign_id: int, *, for_update: bool = False) -> Campaign:
    """`for_update`: locked until the transaction ends (changes of a campaign take turns)."""
    campaign = session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def campaign_progress(session: Session, campaign_id: int) -> Progress:
    campaign = get_campaign(session, campaign_id)
    rows = session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    return Progress(campaign, counts, sum(counts.values()))


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


def list_messages(
    session: Session,
    campaign_id: int,
    *,
    status: MessageStatus | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[Message]:
    get_campaign(session, campaign_id)
    query = select(Message).where(Message.campaign_id == campaign_id, Message.id > after_id)
    if status is not None:
        query = query.where(Message.status == status)
    return list(session.scalars(query.order_by(Message.id).limit(limit)))
