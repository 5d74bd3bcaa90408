"""What became of a campaign: funnel, failure codes, skip reasons, replies, cost, clicks, timeline.

Every number is a SQL aggregate (six small statements, the costliest one pass over the
campaign's rows), so a campaign of 100,000 messages is summed in the database, never loaded:
about 0.25 s on SQLite and 0.15 s on PostgreSQL. The CSV export pages through the messages by
id in a fresh read session per page, so a long download holds no snapshot open.

The funnel, the parts and the spend are the campaign's `figures`, defined there once (one
statement); the rest adds the codes, reasons, replies, clicks and timeline around them.

- delivery rate: delivered / final outcomes; null before the first outcome.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, case, func, literal_column, select, type_coerce
from sqlalchemy.orm import QueryableAttribute, Session

from textcast.db import Database
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.queries import get_campaign
from textcast.domain.inbox.keywords import Keyword
from textcast.domain.reporting.figures import (
    OUTCOMES,
    UNDELIVERED,
    Figures,
    campaign_figures,
)
from textcast.domain.reporting.waiting import Wait, why_waiting
from textcast.domain.spreadsheets import SpreadsheetWriter
from textcast.models import (
    Campaign,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
    UTCDateTime,
)
from textcast.vocabulary import UNSPECIFIED_REASON

REFUSED = "Refused"
REFUSED_DESCRIPTION = "Sinch's API refused the batch at submission; the message's error says why"
EXPORT_PAGE = 5_000
EXPORT_COLUMNS = (
    "id",
    "phone",
    "status",
    "status_code",
    "code_meaning",
    "reason",
    "parts",
    "batch_id",
    "sent_at",
    "updated_at",
)


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
class Minute:
    at: datetime
    """The minute's start, UTC."""
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
    timeline: list[Minute]
    """Minutes with something sent or settled, in order; quiet minutes are left out."""
    clicks: Clicks


def campaign_analytics(
    session: Session,
    campaign_id: int,
    describe_code: DescribeCode,
    policy: Policy,
    *,
    now: datetime | None = None,
) -> Analytics:
    """`policy` prices the parts sent and gives the send rate the queue's estimate needs."""
    campaign = get_campaign(session, campaign_id)
    figures = campaign_figures(session, campaign_id, policy.prices)
    return Analytics(
        campaign=campaign,
        figures=figures,
        funnel=Funnel.of(figures),
        failures=_failures(_undelivered_by_code(session, campaign_id), describe_code),
        skipped=_skip_reasons(session, campaign_id),
        waiting=why_waiting(session, campaign, figures, policy.send_rate, now=now),
        delivery_rate=figures.delivery_rate,
        replies=_replies(session, campaign_id),
        cost=Cost(
            estimated=campaign.estimated_cost,
            budget=campaign.budget,
            spent=figures.spent,
            parts_planned=figures.parts_planned,
            parts_sent=figures.parts_sent,
            committed=campaign.spent,
        ),
        timeline=_timeline(session, campaign_id),
        clicks=_clicks(session, campaign_id),
    )


# Each statement below reads only what it needs: the codes and reasons only the rows of their
# statuses.


@dataclass(frozen=True, slots=True)
class _CodeTotal:
    status: str
    code: int | None
    messages: int
    parts: int


def _undelivered_by_code(session: Session, campaign_id: int) -> list[_CodeTotal]:
    rows = session.execute(
        select(Message.status, Message.status_code, func.count(), func.sum(Message.parts))
        .where(Message.campaign_id == campaign_id, Message.status.in_(UNDELIVERED))
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


def _skip_reasons(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Message.error, func.count())
        .where(Message.campaign_id == campaign_id, Message.status == MessageStatus.SKIPPED)
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


def _replies(session: Session, campaign_id: int) -> Replies:
    rows = session.execute(
        select(InboundMessage.keyword, func.count())
        .where(InboundMessage.campaign_id == campaign_id)
        .group_by(InboundMessage.keyword)
    )
    counts = {keyword: int(n) for keyword, n in rows}
    return Replies(
        opt_outs=counts.pop(Keyword.OPT_OUT.value, 0),
        replies=counts.pop(None, 0),
        keywords={str(k): n for k, n in sorted(counts.items())},
    )


def _timeline(session: Session, campaign_id: int) -> list[Minute]:
    """One pass: each message counts in the minute it was sent and in the minute it settled."""
    dialect = session.get_bind().dialect.name
    outcome = _among(OUTCOMES)
    sent = _minute(Message.sent_at, dialect)
    settled = case(
        (outcome, _minute(func.coalesce(Message.operator_status_at, Message.updated_at), dialect))
    )
    delivered = _among([MessageStatus.DELIVERED])
    rows = session.execute(
        select(sent, settled, delivered, func.count())
        .where(Message.campaign_id == campaign_id, Message.sent_at.is_not(None) | outcome)
        .group_by(sent, settled, delivered)
    )
    counts: defaultdict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for sent_at, settled_at, is_delivered, n in rows:
        if sent_at is not None:
            counts[sent_at][0] += n
        if settled_at is not None:
            counts[settled_at][1 if is_delivered else 2] += n
    return [Minute(at, *counts[at]) for at in sorted(counts)]


def _minute(
    moment: ColumnElement[Any] | QueryableAttribute[Any], dialect: str
) -> ColumnElement[datetime]:
    """`moment` truncated to its minute, in SQL, as an aware UTC datetime."""
    if dialect == "sqlite":
        # SQLAlchemy stores naive UTC text there, always `2026-11-27 07:48:39.123456`; cutting
        # the text is much cheaper than strftime parsing it, on every row.
        minute = func.substr(moment, literal_column("1"), literal_column("16"))
        truncated = minute.concat(literal_column("':00'"))
    else:  # time zone offsets are whole minutes, so the session's zone cannot shift a minute
        truncated = func.date_trunc(literal_column("'minute'"), moment)
    return type_coerce(truncated, UTCDateTime())


def _clicks(session: Session, campaign_id: int) -> Clicks:
    links, clicked, clicks, requests = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Link.clicks > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(Link.unique_clicks), 0),
            func.coalesce(func.sum(Link.clicks), 0),
        ).where(Link.campaign_id == campaign_id)
    ).one()
    return Clicks(int(links), int(clicked), int(clicks), int(requests))


# -- export -------------------------------------------------------------------------------------


def messages_csv(
    database: Database, campaign_id: int, describe_code: DescribeCode, *, page: int = EXPORT_PAGE
) -> Iterator[str]:
    """Every message of the campaign as CSV (`EXPORT_COLUMNS`), one piece of text per page."""
    buffer = io.StringIO()
    out = SpreadsheetWriter(buffer, lineterminator="\n")
    out.writerow(EXPORT_COLUMNS)
    with database.read() as session:
        first, last = session.execute(
            select(func.min(Message.id), func.max(Message.id)).where(
                Message.campaign_id == campaign_id
            )
        ).one()
    after = (first or 1) - 1
    while last is not None and after < last:
        with database.read() as session:
            rows = _export_page(session, campaign_id, after, last, page)
        out.writerows(_export_row(describe_code, *row) for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        after = rows[-1][0] if len(rows) == page else last
    if buffer.tell():
        yield buffer.getvalue()


def _export_page(session: Session, campaign_id: int, after: int, last: int, page: int) -> list[Any]:
    # Walked along the primary key between the campaign's first and last ids: the
    # (campaign_id, status, id) index would need all of the campaign's rows sorted per page.
    query = (
        select(
            Message.id,
            Message.phone,
            Message.status,
            Message.status_code,
            Message.error,
            Message.parts,
            Message.batch_id,
            Message.sent_at,
            Message.updated_at,
        )
        .with_hint(Message, "NOT INDEXED", "sqlite")  # the rowid is still used
        .where(Message.campaign_id == campaign_id, Message.id > after, Message.id <= last)
        .order_by(Message.id)
        .limit(page)
    )
    return list(session.execute(query))


def _export_row(
    describe_code: DescribeCode,
    id_: int,
    phone: str,
    status: str,
    code: int | None,
    error: str | None,
    parts: int,
    batch_id: str | None,
    sent_at: datetime | None,
    updated_at: datetime,
) -> tuple[object, ...]:
    meaning = ""
    if code is not None or (status in UNDELIVERED):
        meaning = code_meaning(code, describe_code)[0]
    return (
        id_,
        phone,
        status,
        "" if code is None else code,
        meaning,
        error or "",
        parts,
        batch_id or "",
        sent_at.isoformat() if sent_at else "",
        updated_at.isoformat(),
    )
