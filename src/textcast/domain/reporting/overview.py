"""What the dashboard shows at a glance: campaigns with their delivery rate, the last days'
delivery rate, opt-outs and spend, a draft's audience by name, and the first steps of a new
installation (`first_steps`).

Every figure is a SQL aggregate; days are UTC days. Definitions follow `analytics`: a final
outcome is delivered or undelivered (skipped messages never left), and a message settles at
the operator's time, else when we last updated it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, case, func, literal_column, or_, select, type_coerce
from sqlalchemy.orm import Session

from textcast.domain.campaigns.launch import audience_count
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.errors import Conflict
from textcast.domain.reporting import figures
from textcast.domain.reporting.figures import OUTCOMES, delivery_rate
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ConsentEvent,
    ConsentKind,
    Contact,
    ContactList,
    Message,
    MessageStatus,
    Segment,
    utcnow,
)
from textcast.vocabulary import SKIP_REASON_WORDS
from textcast.vocabulary import describe_skip as describe_skip

RECENT_CAMPAIGNS = 10
WINDOW_DAYS = 30
# Sinch gives up on a message 72 hours after taking it, so its outcome is known by then: a
# campaign finished longer ago than this has nothing left to settle in the window.
SETTLING = timedelta(days=3)
SKIP_REASONS = SKIP_REASON_WORDS
"""The words of each skip reason (`vocabulary`, shared with the plan's page)."""


@dataclass(frozen=True, slots=True)
class CampaignRow:
    campaign: Campaign
    delivered: int
    outcomes: int
    """Messages with a final outcome (delivered or not); skipped ones are not outcomes."""
    recipients: int = 0
    """Every message of a launched campaign; for a draft, whom launch would write one for."""

    @property
    def delivery_rate(self) -> float | None:
        return delivery_rate(self.delivered, self.outcomes)


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    """A UTC day."""
    delivered: int
    outcomes: int

    @property
    def delivery_rate(self) -> float | None:
        return delivery_rate(self.delivered, self.outcomes)


@dataclass(frozen=True, slots=True)
class Overview:
    since: datetime
    """Start of the window: midnight UTC, `WINDOW_DAYS` days ago counting today."""
    recent: list[CampaignRow]
    days: list[Day]
    """Every day of the window, oldest first, days without outcomes included."""
    opt_outs: int
    """Contacts who opted out in the window."""
    opt_outs_by_source: dict[str, int]
    """`keyword` (STOP replies), `api`, `cli`, `import`..., most first."""
    spent: float
    """What campaigns launched in the window spent, in the price table's currency: the sum of
    their pages' "spent" (sent parts at the price table; `figures`)."""

    @property
    def delivered(self) -> int:
        return sum(d.delivered for d in self.days)

    @property
    def outcomes(self) -> int:
        return sum(d.outcomes for d in self.days)

    @property
    def delivery_rate(self) -> float | None:
        return delivery_rate(self.delivered, self.outcomes)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a draft is for, as written: raw numbers, and lists and segments by name."""

    numbers: int
    lists: list[tuple[int, str]]
    segments: list[tuple[int, str]]


def summarize(
    session: Session, prices: PriceTable, *, now: datetime | None = None, days: int = WINDOW_DAYS
) -> Overview:
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)
    return Overview(
        since=since,
        recent=campaign_rows(session, limit=RECENT_CAMPAIGNS),
        days=_delivery_by_day(session, since, days),
        opt_outs=_opt_outs(session, since),
        opt_outs_by_source=_opt_outs_by_source(session, since),
        spent=figures.spent_on_campaigns_launched_since(session, since, prices),
    )


@dataclass(frozen=True, slots=True)
class FirstSteps:
    """What a new installation has done yet, for the overview's checklist."""

    contacts: bool
    """Any contact, imported or added."""
    tested: bool
    """Any test sent (a campaign of kind `test`)."""
    launched: bool
    """Any marketing campaign launched."""
    draft_id: int | None
    """The newest marketing draft, whose plan offers to send a test; None without one."""


def first_steps(session: Session) -> FirstSteps:
    """One statement of four small lookups, each stopping at its first row."""

    def campaign_of(kind: CampaignKind) -> Any:
        return select(Campaign.id).where(Campaign.kind == kind)

    contacts, tested, launched, draft_id = session.execute(
        select(
            select(Contact.id).exists(),
            campaign_of(CampaignKind.TEST).exists(),
            campaign_of(CampaignKind.MARKETING).where(Campaign.launched_at.is_not(None)).exists(),
            campaign_of(CampaignKind.MARKETING)
            # An A/B test's rest waits as a draft, but it is the test's, not the user's.
            .where(Campaign.status == CampaignStatus.DRAFT, Campaign.parent_id.is_(None))
            .order_by(Campaign.id.desc())
            .limit(1)
            .scalar_subquery(),
        )
    ).one()
    return FirstSteps(bool(contacts), bool(tested), bool(launched), draft_id)


SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name, A to Z",
    "recipients": "Most recipients first",
}
"""How the campaign list may be ordered, with the words its form shows."""


@dataclass(frozen=True, slots=True)
class CampaignQuery:
    """Which campaigns a list shows, in which order."""

    kinds: Sequence[CampaignKind] = (CampaignKind.MARKETING,)
    search: str = ""
    """Part of the name, any case."""
    status: CampaignStatus | None = None
    sort: str = "newest"


def campaign_rows(
    session: Session,
    *,
    before_id: int | None = None,
    limit: int = 50,
    kinds: Sequence[CampaignKind] = (CampaignKind.MARKETING,),
    chosen: CampaignQuery | None = None,
    offset: int = 0,
) -> list[CampaignRow]:
    """Newest first (or as `chosen` sorts), each with its delivered and final counts and its
    recipients; `before_id` pages newest-first lists backwards, `offset` any other.

    The campaigns under an A/B test's are not listed: the test's campaign is, once, with its
    family's counts (its variants' and its rest's messages)."""
    chosen = chosen or CampaignQuery(kinds=kinds)
    query = select(Campaign).where(Campaign.kind.in_(chosen.kinds), Campaign.parent_id.is_(None))
    if chosen.search.strip():
        pattern = chosen.search.strip().lower()
        query = query.where(func.lower(Campaign.name).contains(pattern, autoescape=True))
    if chosen.status is not None:
        query = query.where(Campaign.status == chosen.status)
    order = {
        "oldest": (Campaign.id.asc(),),
        "name": (func.lower(Campaign.name), Campaign.id.desc()),
        "recipients": (Campaign.recipient_count.desc(), Campaign.id.desc()),
    }.get(chosen.sort, (Campaign.id.desc(),))
    query = query.order_by(*order)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    found = list(session.scalars(query.offset(offset).limit(limit)))
    if not found:
        return []
    # The campaigns under the page's (A/B tests' parts), each counted for its test's.
    heads = {c.id: c.id for c in found}
    children = session.execute(
        select(Campaign.id, Campaign.parent_id).where(Campaign.parent_id.in_(list(heads)))
    )
    heads.update((child, parent) for child, parent in children if parent is not None)
    # One grouped statement for the page, along the (campaign_id, status) index.
    rows = session.execute(
        select(Message.campaign_id, _delivered(), func.count())
        .where(Message.campaign_id.in_(list(heads)), Message.status.in_(OUTCOMES))
        .group_by(Message.campaign_id)
    )
    counts: dict[int, tuple[int, int]] = {}
    for campaign_id, delivered, n in rows:
        head = heads[campaign_id]
        before = counts.get(head, (0, 0))
        counts[head] = (before[0] + int(delivered), before[1] + int(n))
    return [
        CampaignRow(c, *counts.get(c.id, (0, 0)), recipients=_recipients(session, c)) for c in found
    ]


def _recipients(session: Session, campaign: Campaign) -> int:
    """A launched campaign's messages, as its launch counted them (its page's total); a
    draft's audience as launch would count it now: its numbers with its lists and segments."""
    if campaign.status != CampaignStatus.DRAFT:
        return campaign.recipient_count
    try:
        return audience_count(session, campaign)
    except Conflict:  # a segment broken or deleted since: the plan says so
        return campaign.recipient_count


def _delivered() -> ColumnElement[Any]:
    return func.sum(case((Message.status == MessageStatus.DELIVERED, 1), else_=0))


def _delivery_by_day(session: Session, since: datetime, days: int) -> list[Day]:
    settled = func.coalesce(Message.operator_status_at, Message.updated_at)
    day = _day(settled, session.get_bind().dialect.name)
    # Only campaigns that could have settled something in the window: their messages are
    # then read along the (campaign_id, status) index instead of the whole table.
    recent = select(Campaign.id).where(
        Campaign.launched_at.is_not(None),
        or_(Campaign.completed_at.is_(None), Campaign.completed_at >= since - SETTLING),
    )
    rows = session.execute(
        select(day, _delivered(), func.count())
        .where(
            Message.campaign_id.in_(recent),
            Message.status.in_(OUTCOMES),
            settled >= since,
        )
        .group_by(day)
    )
    counts = {found: (int(delivered), int(n)) for found, delivered, n in rows}
    first = since.date()
    every = (first + timedelta(days=n) for n in range(days))
    return [Day(d, *counts.get(d, (0, 0))) for d in every]


def _day(moment: ColumnElement[Any], dialect: str) -> ColumnElement[date]:
    """`moment`'s UTC day, in SQL."""
    if dialect == "sqlite":
        # Stored as naive UTC text, `2026-11-27 07:48:39.123456`: the day is its first ten.
        day = func.substr(moment, literal_column("1"), literal_column("10"))
    else:  # literals, so that GROUP BY repeats the very expression selected
        day = func.date(func.timezone(literal_column("'UTC'"), moment))
    return type_coerce(day, Date())


def _opted_out_since(since: datetime) -> ColumnElement[bool]:
    return (ConsentEvent.kind == ConsentKind.OPT_OUT) & (ConsentEvent.created_at >= since)


def _opt_outs(session: Session, since: datetime) -> int:
    # Distinct contacts: a second STOP from the same number is not a second loss.
    count = func.count(ConsentEvent.contact_id.distinct())
    return int(session.scalar(select(count).where(_opted_out_since(since))) or 0)


def _opt_outs_by_source(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(ConsentEvent.source, func.count(ConsentEvent.contact_id.distinct()))
        .where(_opted_out_since(since))
        .group_by(ConsentEvent.source)
    )
    sources: Counter[str] = Counter()
    for source, n in rows:
        sources[str(source).split(":", 1)[0]] += int(n)  # `import:12` is an import
    return dict(sources.most_common())


def draft_audience(session: Session, campaign: Campaign) -> Audience:
    list_ids = [int(i) for i in campaign.audience.get("lists", [])]
    segment_ids = [int(i) for i in campaign.audience.get("segments", [])]
    lists = session.execute(
        select(ContactList.id, ContactList.name)
        .where(ContactList.id.in_(list_ids))
        .order_by(ContactList.name)
    )
    chosen = session.execute(
        select(Segment.id, Segment.name).where(Segment.id.in_(segment_ids)).order_by(Segment.name)
    )
    named = {int(i): str(name) for i, name in chosen}
    # A segment deleted after the launch is still part of who got the campaign.
    gone = [(i, f"deleted segment {i}") for i in segment_ids if i not in named]
    return Audience(
        numbers=campaign.recipient_count,
        lists=[(int(i), str(name)) for i, name in lists],
        segments=[*named.items(), *gone],
    )
