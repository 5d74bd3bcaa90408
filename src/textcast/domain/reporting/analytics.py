"""What became of a campaign: funnel, failure codes, skip reasons, replies, cost, clicks, timeline.

Every number is a SQL aggregate (seven small statements, the costliest one pass over the
campaign's rows), so a campaign of 100,000 messages is summed in the database, never loaded:
about 0.25 s on SQLite and 0.15 s on PostgreSQL. The CSV export pages through the messages by
id (`exports`).

The funnel, the parts and the spend are the campaign's `figures`, defined there once (one
statement); the rest adds the codes, reasons, replies, clicks and timeline around them.

An A/B test's campaign sends nothing itself: every figure here is its family's (itself and the
campaigns under it, `family_ids`), so each is the sum of its parts', and `variants` sets the
parts (each variant's share of the pool, and the rest) side by side; the export marks each
message with its part.

- delivery rate: delivered / final outcomes; null before the first outcome.
- timeline: messages sent and settled per bucket of time, the bucket chosen from how long the
  campaign's activity lasted (`bucket_seconds`): a second for a send of under a minute,
  seconds up to half an hour, a minute up to an hour, then minutes and hours, and a day
  beyond a month; about `MAX_BUCKETS` buckets at most.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import QueryableAttribute, Session

from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.queries import family_ids, get_campaign
from textcast.domain.inbox.keywords import Keyword
from textcast.domain.reporting.figures import (
    OUTCOMES,
    UNDELIVERED,
    Figures,
    family_figures,
    of_campaigns,
)
from textcast.domain.reporting.variants import VariantFigures, variant_figures
from textcast.domain.reporting.waiting import Wait, why_waiting
from textcast.models import (
    Campaign,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
    UTCDateTime,
)
from textcast.vocabulary import UNSPECIFIED_REASON

BUCKETS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
"""The timeline's bucket widths, in seconds: each divides the next unit (a minute, an hour, a
day), so that buckets start at round times, counted from midnight UTC."""
MAX_BUCKETS = 60
"""Few enough for a chart to mark each bucket's values, enough to show a send's shape."""
REFUSED = "Refused"
REFUSED_DESCRIPTION = "Sinch's API refused the batch at submission; the message's error says why"


@dataclass(frozen=True, slots=True)
class Funnel:
    """The funnel as the API has always shown it, made of the campaign's `Figures`."""

    total: int
    queued: int
    """Waiting: still ours to send: queued, deferred (held for a send window) or submitting."""
    in_flight: int
    """With Sinch: sent, no final outcome yet: accepted or dispatched."""
    sent: int
    delivered: int
    failed: int
    refused: int
    """Of `failed`: refused by Sinch's API at submission, so never sent."""
    expired: int
    rejected: int
    aborted: int
    cancelled: int
    deleted: int
    unknown: int
    skipped: int
    by_status: dict[str, int]

    @classmethod
    def of(cls, figures: Figures) -> Funnel:
        count = figures.count
        return cls(
            total=figures.messages,
            queued=figures.waiting,
            in_flight=figures.with_sinch,
            sent=figures.sent,
            delivered=figures.delivered,
            failed=count(MessageStatus.FAILED),
            refused=figures.refused,
            expired=count(MessageStatus.EXPIRED),
            rejected=count(MessageStatus.REJECTED),
            aborted=count(MessageStatus.ABORTED),
            cancelled=count(MessageStatus.CANCELLED),
            deleted=count(MessageStatus.DELETED),
            unknown=count(MessageStatus.UNKNOWN),
            skipped=figures.skipped,
            by_status=figures.by_status,
        )


class CodeMeaning(Protocol):
    """What a provider says one of its delivery codes means."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...


DescribeCode = Callable[[int], CodeMeaning]
"""The provider's table of delivery codes (Sinch's: `runtime.describe_delivery_code`). The
messages keep the code the provider reported; what it means is the provider's to say, so it is
passed in and the domain knows no provider."""


@dataclass(frozen=True, slots=True)
class FailureCode:
    status: str
    code: int | None
    """The delivery code the provider reported; None for messages refused at submission."""
    name: str
    description: str
    messages: int


@dataclass(frozen=True, slots=True)
class Replies:
    """Inbound messages attributed to the campaign (the number's last campaign within 72 h)."""

    opt_outs: int
    keywords: dict[str, int]
    """Other keywords (`opt_in`, `help`) by keyword."""
    replies: int
    """Plain replies: not a keyword."""


@dataclass(frozen=True, slots=True)
class Cost:
    estimated: float | None
    budget: float | None
    spent: float
    """The parts sent, priced (`figures`)."""
    parts_planned: int
    """Parts of every message not skipped."""
    parts_sent: int
    committed: float
    """The budget ledger: what screening reserved for messages on their way to Sinch."""


@dataclass(frozen=True, slots=True)
class Bucket:
    at: datetime
    """The bucket's start, UTC (`Analytics.timeline_bucket_seconds` wide)."""
    sent: int
    delivered: int
    undelivered: int


@dataclass(frozen=True, slots=True)
class Clicks:
    links: int
    clicked_links: int
    clicks: int
    """Unique: a client once per `links.VISIT_WINDOW`."""
    requests: int
    """Every request of the links, reloads and repeated requests included."""


@dataclass(frozen=True, slots=True)
class Analytics:
    campaign: Campaign
    figures: Figures
    funnel: Funnel
    failures: list[FailureCode]
    """Undelivered messages by status and code, most frequent first."""
    skipped: dict[str, int]
    """Skipped messages by reason (`opted_out`, `quiet_hours_expired`, `budget`...)."""
    waiting: list[Wait]
    """What the unfinished messages wait for, in sentences."""
    delivery_rate: float | None
    replies: Replies
    cost: Cost
    timeline: list[Bucket]
    """Buckets with something sent or settled, in order; quiet buckets are left out."""
    timeline_bucket_seconds: int
    """The width of the timeline's buckets (`bucket_seconds`)."""
    clicks: Clicks
    variants: list[VariantFigures] | None = None
    """An A/B test's campaign, once launched: its figures per variant and the rest, side by
    side (they add up to the campaign's); None for an ordinary campaign."""


def campaign_analytics(
    session: Session,
    campaign_id: int,
    describe_code: DescribeCode,
    policy: Policy,
    *,
    now: datetime | None = None,
) -> Analytics:
    """`policy` prices the parts sent and gives the send rate the queue's estimate needs.

    An A/B test's campaign reports on its family (itself and the campaigns under it, `family_ids`):
    every figure is the sum of its parts', and `variants` shows the parts side by side."""
    campaign = get_campaign(session, campaign_id)
    family = family_ids(session, campaign_id)
    figures = family_figures(session, family, policy.prices)
    width, timeline = _timeline(session, family)
    return Analytics(
        campaign=campaign,
        figures=figures,
        funnel=Funnel.of(figures),
        failures=_failures(_undelivered_by_code(session, family), describe_code),
        skipped=_skip_reasons(session, family),
        waiting=why_waiting(session, campaign, figures, policy.send_rate, now=now, family=family),
        delivery_rate=figures.delivery_rate,
        replies=_replies(session, family),
        cost=Cost(
            estimated=campaign.estimated_cost,
            budget=campaign.budget,
            spent=figures.spent,
            parts_planned=figures.parts_planned,
            parts_sent=figures.parts_sent,
            committed=_committed(session, campaign, family),
        ),
        timeline=timeline,
        timeline_bucket_seconds=width,
        clicks=_clicks(session, family),
        variants=variant_figures(session, campaign_id, family) if len(family) > 1 else None,
    )


# Each statement below reads only what it needs: the codes and reasons only the rows of their
# statuses.


@dataclass(frozen=True, slots=True)
class _CodeTotal:
    status: str
    code: int | None
    messages: int
    parts: int


def _undelivered_by_code(session: Session, family: Sequence[int]) -> list[_CodeTotal]:
    rows = session.execute(
        select(Message.status, Message.status_code, func.count(), func.sum(Message.parts))
        .where(of_campaigns(Message.campaign_id, family), Message.status.in_(UNDELIVERED))
        .group_by(Message.status, Message.status_code)
    )
    return [_CodeTotal(str(status), code, int(n), int(parts)) for status, code, n, parts in rows]


def _failures(codes: list[_CodeTotal], describe_code: DescribeCode) -> list[FailureCode]:
    failures = [
        FailureCode(c.status, c.code, *code_meaning(c.code, describe_code), c.messages)
        for c in codes
    ]
    return sorted(failures, key=lambda f: (-f.messages, f.status, -1 if f.code is None else f.code))


def code_meaning(code: int | None, describe_code: DescribeCode) -> tuple[str, str]:
    """Name and description of a delivery code; None: never reached Sinch (refused)."""
    if code is None:
        return REFUSED, REFUSED_DESCRIPTION
    known = describe_code(code)
    return known.name, known.description


def _skip_reasons(session: Session, family: Sequence[int]) -> dict[str, int]:
    rows = session.execute(
        select(Message.error, func.count())
        .where(of_campaigns(Message.campaign_id, family), Message.status == MessageStatus.SKIPPED)
        .group_by(Message.error)
    )
    reasons: Counter[str] = Counter()
    for reason, n in rows:
        reasons[reason or UNSPECIFIED_REASON] += int(n)
    return dict(reasons.most_common())


def _among(statuses: Iterable[MessageStatus]) -> ColumnElement[bool]:
    # Inlined literals (our own enum values), so that an expression repeated in GROUP BY is
    # the very one selected: PostgreSQL does not match two different bound parameters.
    return Message.status.in_([literal_column(f"'{s.value}'") for s in statuses])


def _replies(session: Session, family: Sequence[int]) -> Replies:
    rows = session.execute(
        select(InboundMessage.keyword, func.count())
        .where(of_campaigns(InboundMessage.campaign_id, family))
        .group_by(InboundMessage.keyword)
    )
    counts = {keyword: int(n) for keyword, n in rows}
    return Replies(
        opt_outs=counts.pop(Keyword.OPT_OUT.value, 0),
        replies=counts.pop(None, 0),
        keywords={str(k): n for k, n in sorted(counts.items())},
    )


def bucket_seconds(span: timedelta) -> int:
    """The narrowest of `BUCKETS` that `span` fills less than `MAX_BUCKETS` times (the
    widest, a day, past that)."""
    seconds = span.total_seconds()
    return next((w for w in BUCKETS if seconds < w * MAX_BUCKETS), BUCKETS[-1])


def bucket_start(moment: datetime, width: int) -> datetime:
    """The start of the bucket `width` seconds wide (one of `BUCKETS`) that holds `moment`."""
    moment = moment.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    into = int((moment - midnight).total_seconds()) // width * width
    return midnight + timedelta(seconds=into)


def _timeline(session: Session, family: Sequence[int]) -> tuple[int, list[Bucket]]:
    """Two passes: the span of the activity, which chooses the bucket; then each message
    counts in the bucket it was sent in and in the bucket it settled in."""
    dialect = session.get_bind().dialect.name
    outcome = _among(OUTCOMES)
    settled_at = case((outcome, func.coalesce(Message.operator_status_at, Message.updated_at)))
    active = (of_campaigns(Message.campaign_id, family), Message.sent_at.is_not(None) | outcome)
    ends = session.execute(
        select(
            func.min(Message.sent_at),
            func.max(Message.sent_at),
            func.min(settled_at),
            func.max(settled_at),
        ).where(*active)
    ).one()
    moments = [moment for moment in ends if moment is not None]
    if not moments:
        return bucket_seconds(timedelta(0)), []
    width = bucket_seconds(max(moments) - min(moments))
    # Minutes and wider are summed here from minutes; narrower buckets are cut in SQL.
    cut = min(width, 60)
    sent = _truncated(Message.sent_at, dialect, cut)
    settled = case(
        (
            outcome,
            _truncated(func.coalesce(Message.operator_status_at, Message.updated_at), dialect, cut),
        )
    )
    delivered = _among([MessageStatus.DELIVERED])
    rows = session.execute(
        select(sent, settled, delivered, func.count())
        .where(*active)
        .group_by(sent, settled, delivered)
    )
    counts: defaultdict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for sent_at, settled_at_, is_delivered, n in rows:
        if sent_at is not None:
            counts[bucket_start(sent_at, width)][0] += n
        if settled_at_ is not None:
            counts[bucket_start(settled_at_, width)][1 if is_delivered else 2] += n
    return width, [Bucket(at, *counts[at]) for at in sorted(counts)]


def _truncated(
    moment: ColumnElement[Any] | QueryableAttribute[Any], dialect: str, seconds: int
) -> ColumnElement[datetime]:
    """`moment` cut to the start of its bucket of `seconds` (one that divides a minute), in
    SQL, as an aware UTC datetime."""
    every: ColumnElement[int] = literal_column(str(seconds))
    truncated: ColumnElement[Any]
    if dialect == "sqlite":
        # SQLAlchemy stores naive UTC text there, always `2026-11-27 07:48:39.123456`; cutting
        # the text is much cheaper than strftime parsing it, on every row.
        if seconds == 60:
            truncated = func.substr(moment, literal_column("1"), literal_column("16")).concat(
                literal_column("':00'")
            )
        else:
            second = cast(func.substr(moment, literal_column("18"), literal_column("2")), Integer)
            truncated = func.substr(moment, literal_column("1"), literal_column("17")).concat(
                func.printf(literal_column("'%02d'"), second / every * every)
            )
    elif seconds == 60:  # time zone offsets are whole minutes: the session's zone shifts none
        truncated = func.date_trunc(literal_column("'minute'"), moment)
    else:
        into = func.floor(extract("second", moment) / every) * every
        truncated = func.date_trunc(literal_column("'minute'"), moment) + into * literal_column(
            "interval '1 second'"
        )
    return type_coerce(truncated, UTCDateTime())


def _clicks(session: Session, family: Sequence[int]) -> Clicks:
    links, clicked, clicks, requests = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Link.clicks > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(Link.unique_clicks), 0),
            func.coalesce(func.sum(Link.clicks), 0),
        ).where(of_campaigns(Link.campaign_id, family))
    ).one()
    return Clicks(int(links), int(clicked), int(clicks), int(requests))


def _committed(session: Session, campaign: Campaign, family: Sequence[int]) -> float:
    """The budget ledger: a test's campaign reserves nothing itself, the campaigns under it
    do."""
    if len(family) == 1:
        return campaign.spent
    total = session.scalar(
        select(func.coalesce(func.sum(Campaign.spent), 0.0)).where(Campaign.id.in_(family))
    )
    return float(total or 0.0)
