"""Quotas against SMS pumping: a cap on recipients per campaign and per rolling 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from textcast.domain.campaigns.planning import Policy
from textcast.domain.errors import Conflict, TooManyRequests
from textcast.models import Campaign
from textcast.vocabulary import SYSTEM_KINDS

QUOTA_WINDOW = timedelta(hours=24)


def check_quotas(session: Session, campaign: Campaign, policy: Policy, now: datetime) -> None:
    """Against SMS pumping: a cap per campaign and per rolling 24 hours (raising rolls back)."""
    if campaign.kind in SYSTEM_KINDS:
        # Keyword replies and sign-up texts are held back by their own caps (`replies`,
        # `signups`), within the same daily quota.
        return
    count = campaign.recipient_count
    cap = policy.max_recipients_per_campaign
    if cap and count > cap:
        raise Conflict(
            f"the audience has {count} recipients, above the limit of {cap} per campaign "
            "(MAX_RECIPIENTS_PER_CAMPAIGN); split it or raise the limit"
        )
    quota = policy.daily_recipient_quota
    if not quota:
        return
    if count > quota:
        raise Conflict(
            f"the audience has {count} recipients, above the quota of {quota} per 24 hours "
            "(DAILY_RECIPIENT_QUOTA)"
        )
    # Keyword replies count too (`replies` holds them back once the quota is reached).
    launches = session.execute(
        select(Campaign.launched_at, Campaign.recipient_count)
        .where(
            Campaign.launched_at >= now - QUOTA_WINDOW,
            Campaign.id != campaign.id,
            sends_its_own(),
        )
        .order_by(Campaign.launched_at)
    ).all()
    used = sum(recipients for _, recipients in launches)
    if used + count <= quota:
        return
    # The quota frees up as launches leave the window: wait for the first moment enough has.
    over = used + count - quota
    retry_after = QUOTA_WINDOW.total_seconds()
    for launched_at, recipients in launches:
        over -= recipients
        if over <= 0 and launched_at is not None:
            retry_after = (launched_at + QUOTA_WINDOW - now).total_seconds()
            break
    raise TooManyRequests(
        f"{used} recipients launched in the last 24 hours; {count} more would pass the quota "
        f"of {quota} (DAILY_RECIPIENT_QUOTA)",
        retry_after,
    )


def recipients_launched_since(session: Session, since: datetime) -> int:
    """Recipients of every campaign launched since then (keyword replies included)."""
    launched = session.scalar(
        select(func.coalesce(func.sum(Campaign.recipient_count), 0)).where(
            Campaign.launched_at >= since, sends_its_own()
        )
    )
    return int(launched or 0)


def sends_its_own() -> ColumnElement[bool]:
    """Not a campaign whose texts go through campaigns under it (an A/B test's): those are
    counted, each at its own launch, and the whole would count them twice."""
    child = aliased(Campaign)
    return ~select(child.id).where(child.parent_id == Campaign.id).exists()
