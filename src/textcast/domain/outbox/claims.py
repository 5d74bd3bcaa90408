"""Claims: due messages taken off a campaign's queue, past its claim cursor, into new `claimed`
batches; and given back to the queue when they are not to be sent after all. Also what a
claimed message and a batch on its way are, and the text a batch carries.

Every function here runs in its own short transaction, committed by the caller.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.db import commit_without_waiting_for_disk
from textcast.domain.campaigns.queue import cursor_of, unclaimed
from textcast.domain.content.rendering import outgoing
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    CampaignStatus,
    ClaimCursor,
    Message,
    MessageStatus,
    SkipReason,
    utcnow,
)
from textcast.vocabulary import PRIORITY_KINDS


class Claimed(NamedTuple):
    """A claimed message, as the claim's UPDATE .. RETURNING gives it back."""

    id: int
    phone: str
    parts: int
    variables: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    id: str
    """Also the `client_reference` Sinch sees."""
    campaign_id: int
    body: str
    """With `${key}` placeholders when `parameters` has values."""
    sender: str | None
    recipients: list[str]
    parts: int
    created_at: datetime
    parameters: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """Sinch's `parameters`: per key, each recipient's value."""
    attempts: int = 0
    checks_opt_outs: bool = True
    """Marketing batches skip opted-out numbers; keyword replies (a STOP's confirmation) don't."""
    posting: bool = False
    """Its last opt-out check is done: it may leave as it is."""
    first_message_id: int | None = None
    last_message_id: int | None = None


MESSAGES = cast(Table, Message.__table__)
BATCHES = cast(Table, Batch.__table__)
CAMPAIGNS = cast(Table, Campaign.__table__)
CURSORS = cast(Table, ClaimCursor.__table__)


CLAIM_WINDOW = 4
"""Each step of a claim of n messages looks at no more than n * CLAIM_WINDOW ids."""


def new_batch_id() -> str:
    return f"tcb_{ULID()}"


def sending_campaign_ids(session: Session) -> list[int]:
    """Sending campaigns with queued messages: the ones a claim can find work in.

    Hundreds of keyword replies may be `sending` at once, most already handed over: asking
    each of them for work would cost a write transaction apiece, every round.
    """
    queued = select(Message.id).where(*unclaimed(Campaign.id, cursor_of(Campaign.id))).exists()
    # Answers to what a person just did (a keyword, a sign-up, an agent's reply) come first
    # in every round: the priority lane ahead of marketing batches.
    marketing_last = case((Campaign.kind.in_(PRIORITY_KINDS), 0), else_=1)
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == CampaignStatus.SENDING, queued)
            .order_by(marketing_last, Campaign.id)
        )
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """Messages taken off the queue into a `claimed` batch, before `screen_claims`."""

    batch_id: str
    campaign_id: int
    rows: list[Claimed]
    """In id order."""
    created_at: datetime
    budgeted: bool
    """The campaign had a budget: its screenings then take turns."""


def claim_batches(
    session: Session, campaign_id: int, size: int, count: int, now: datetime | None = None
) -> list[Claim]:
    """Attach up to `count` x `size` queued messages of one campaign, in id order, to up to
    `count` new `claimed` batches of `size`.

    Claims of one campaign take turns on its `ClaimCursor`: each starts where the previous
    one stopped. Keep the transaction to this (several batches at a time make fewer turns):
    the next claim waits for its commit. The campaign's status is read, not locked:
    `screen_claims` decides under a lock.
    """
    # Core statements throughout: this transaction is the one claims queue for. Lost in a
    # crash, it leaves the messages queued; the commit before the POST makes it durable.
    commit_without_waiting_for_disk(session)
    found = session.execute(
        select(CAMPAIGNS.c.status, CAMPAIGNS.c.budget).where(CAMPAIGNS.c.id == campaign_id)
    ).first()
    if found is None or found.status != CampaignStatus.SENDING:
        return []
    start = session.scalar(
        select(CURSORS.c.claimed_through)
        .where(CURSORS.c.campaign_id == campaign_id)
        .with_for_update()
    )
    if start is None:
        return []
    now = now or utcnow()
    batch_ids = [new_batch_id() for _ in range(count)]
    by_batch, cursor = _claim_due(session, campaign_id, start, size, batch_ids, now)
    if cursor != start:
        session.execute(
            update(CURSORS)
            .where(CURSORS.c.campaign_id == campaign_id)
            .values(claimed_through=cursor)
        )
    claims = [
        Claim(batch_id, campaign_id, by_batch[batch_id], now, budgeted=found.budget is not None)
        for batch_id in batch_ids
        if batch_id in by_batch
    ]
    if claims:
        session.execute(
            insert(BATCHES),
            [
                {
                    "id": claim.batch_id,
                    "campaign_id": campaign_id,
                    "state": BatchState.CLAIMED,
                    "recipient_count": len(claim.rows),
                    "parts": 0,
                    "attempts": 1,
                    "created_at": now,
                    "first_message_id": claim.rows[0].id,
                    "last_message_id": claim.rows[-1].id,
                }
                for claim in claims
            ],
        )
    return claims


def give_back(
    session: Session,
    batch_id: str,
    campaign_id: int,
    ids: tuple[int | None, int | None],
    *,
    cancelled: bool,
    now: datetime,
) -> None:
    """A claimed batch that is not to be sent goes away: its messages return to the queue,
    or are skipped as the cancelled campaign's other queued messages were."""
    first, last = ids
    if cancelled:
        back: dict[str, Any] = {"status": MessageStatus.SKIPPED, "error": SkipReason.CANCELLED}
    else:
        back = {"status": MessageStatus.QUEUED}
        requeued(session, campaign_id, first or 1)
    session.execute(
        update(MESSAGES)
        .where(*pending(batch_id, campaign_id, first, last))
        .values(batch_id=None, updated_at=now, **back)
    )
    session.execute(delete(BATCHES).where(BATCHES.c.id == batch_id))


def release_claims(session: Session, batch_ids: list[str] | None = None) -> int:
    """Claimed batches never screened (their process stopped, or screening failed) give
    their messages back to the queue, or skip them if the campaign was cancelled meanwhile;
    Sinch never saw them. All of them when `batch_ids` is None (at start, before anything is
    claimed)."""
    query = (
        select(Batch.id, Batch.campaign_id, Batch.first_message_id, Batch.last_message_id)
        .add_columns(Campaign.status == CampaignStatus.CANCELLED)
        .join(Campaign, Campaign.id == Batch.campaign_id)
        .where(Batch.state == BatchState.CLAIMED)
    )
    if batch_ids is not None:
        query = query.where(Batch.id.in_(batch_ids))
    released = session.execute(query.with_for_update(of=Batch)).all()
    now = utcnow()
    for batch_id, campaign_id, first, last, cancelled in released:
        give_back(session, batch_id, campaign_id, (first, last), cancelled=cancelled, now=now)
    return len(released)


def text_of(campaign: Campaign, rows: list[Claimed]) -> tuple[str, dict[str, dict[str, str]]]:
    """The body Sinch gets and, for a personalised one, the `parameters` of these rows."""
    template = outgoing(campaign.body, campaign.smart_encoding, campaign.short_links).template
    if template.is_static:
        return template.render({}), {}
    parameters: dict[str, dict[str, str]] = {field.key: {} for field in template.fields}
    for row in rows:
        for key, value in (row.variables or {}).items():
            if key in parameters:
                parameters[key][row.phone] = value
    return template.sinch_body(), parameters


def _claim_due(
    session: Session,
    campaign_id: int,
    cursor: int,
    size: int,
    batch_ids: list[str],
    now: datetime,
) -> tuple[dict[str, list[Claimed]], int]:
    """The next queued messages past `cursor`, in id order, `size` to each of `batch_ids`
    (by batch); and where the cursor goes.

    The ranges of ids come first, a row each; then one UPDATE takes each range by id, with
    no join on the picked ids (on PostgreSQL, 8,000 messages took 29-41 ms this way against
    35-48 ms through the join).
    """
    ranges, cursor = _next_ranges(session, campaign_id, cursor, size, len(batch_ids))
    if not ranges:
        return {}, cursor
    within = [MESSAGES.c.id.between(first, last) for first, last in ranges]
    # On the Core table: the ORM's processing of a thousand returned rows costs more than
    # the statement.
    result = session.execute(
        update(MESSAGES)
        .where(
            MESSAGES.c.campaign_id == campaign_id,
            MESSAGES.c.id.between(ranges[0][0], ranges[-1][1]),
            # Status again: a row another writer changed meanwhile is re-checked here.
            MESSAGES.c.status == MessageStatus.QUEUED,
            or_(*within),
        )
        .values(
            status=MessageStatus.SUBMITTING,
            batch_id=case(*zip(within, batch_ids, strict=False)),
            updated_at=now,
        )
        .returning(MESSAGES.c.id, MESSAGES.c.phone, MESSAGES.c.parts, MESSAGES.c.variables)
    )
    # Fetched at once, sorted on the id alone: row by row, this cost more than the UPDATE.
    # Each range's rows then follow one another (the batch ids are not sent back for them).
    claimed = sorted(result.all(), key=itemgetter(0))
    by_batch: dict[str, list[Claimed]] = {}
    overfilled: list[int] = []
    start = 0
    for (_, last), batch_id in zip(ranges, batch_ids, strict=False):
        end = bisect_right(claimed, last, lo=start, key=itemgetter(0))
        rows = list(map(Claimed._make, claimed[start:end]))
        start = end
        overfilled += [row.id for row in rows[size:]]
        if rows:
            by_batch[batch_id] = rows[:size]
    if overfilled:
        # Another writer queued a message into a range after it was counted (a deferred
        # one, woken): what overfills a batch goes back, and the cursor before it.
        session.execute(update(Message), [moved(i, MessageStatus.QUEUED, now) for i in overfilled])
        cursor = min(cursor, overfilled[0] - 1)
    return by_batch, cursor


def _next_ranges(
    session: Session, campaign_id: int, cursor: int, size: int, count: int
) -> tuple[list[tuple[int, int]], int]:
    """The first and last ids of the next `count` runs of `size` queued messages past
    `cursor`, in id order; and where the cursor goes.

    Each statement looks at a window of ids past the cursor, not at every message left:
    right after a launch the planner has no statistics for the new campaign and would
    otherwise sort all of its messages to take the first thousand.
    """
    wanted = size * count
    found = 0
    ranges: dict[int, tuple[int, int]] = {}
    while True:
        end = cursor + CLAIM_WINDOW * wanted
        # The n-th queued message (counting earlier windows) goes to run n // size.
        position = func.row_number().over(order_by=Message.id) - 1 + found
        due = (
            select(Message.id, (position // size).label("run"))
            .where(*unclaimed(campaign_id, cursor), Message.id <= end)
            .order_by(Message.id)
            .limit(wanted - found)
            .subquery()
        )
        runs = session.execute(
            select(due.c.run, func.min(due.c.id), func.max(due.c.id), func.count())
            .group_by(due.c.run)
            .order_by(due.c.run)
        )
        for run, first, last, queued in runs:
            # A run begun in the previous window keeps its start.
            ranges[run] = (ranges[run][0] if run in ranges else first, last)
            found += queued
        if found == wanted:
            return list(ranges.values()), ranges[max(ranges)][1]
        # The window is used up: jump to the next queued message, if any.
        following = session.scalar(select(func.min(Message.id)).where(*unclaimed(campaign_id, end)))
        if following is None:
            return list(ranges.values()), end
        cursor = following - 1


def moved(
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    error: str | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """One message's values, in an executemany UPDATE, as it leaves its batch for `status`."""
    return {
        "id": message_id,
        "status": status,
        "batch_id": None,
        "error": error,
        "not_before": not_before,
        "updated_at": now,
    }


def requeued(session: Session, campaign_id: int, first_id: int) -> None:
    """Messages from `first_id` on are queued again: the next claim starts before them."""
    session.execute(
        update(CURSORS)
        .where(CURSORS.c.campaign_id == campaign_id, CURSORS.c.claimed_through >= first_id)
        .values(claimed_through=first_id - 1)
    )


def queued_after_launch(session: Session, campaign_id: int, first_id: int) -> None:
    """Messages from `first_id` on were added to a campaign already sending (a flow step's
    campaign of the day takes each chunk's texts): the next claim starts before them.

    A claim may have moved the cursor past their ids while they were not yet committed
    (its window runs ahead of the last id it saw), so this UPDATE is unconditional: it
    waits for a claim holding the cursor and then takes the cursor back from where that
    claim left it. A conditional one (`requeued`) would skip a row whose old value was below
    `first_id`, and the claim's commit would then leave these messages behind it forever.
    """
    claimed = CURSORS.c.claimed_through
    session.execute(
        update(CURSORS)
        .where(CURSORS.c.campaign_id == campaign_id)
        .values(claimed_through=case((claimed >= first_id, first_id - 1), else_=claimed))
    )


def pending(
    batch_id: str, campaign_id: int, first: int | None, last: int | None
) -> tuple[ColumnElement[bool], ...]:
    """A batch's messages still `submitting`, found through (campaign_id, id)."""
    within: tuple[ColumnElement[bool], ...] = ()
    if first is not None and last is not None:
        within = (MESSAGES.c.id.between(first, last),)
    return (
        MESSAGES.c.campaign_id == campaign_id,
        *within,
        MESSAGES.c.batch_id == batch_id,
        MESSAGES.c.status == MessageStatus.SUBMITTING,
    )
