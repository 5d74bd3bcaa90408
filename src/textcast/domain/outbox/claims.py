"""The outbox: claim due messages into batches and record what Sinch made of them.

Every function here runs in its own short transaction, committed by the caller, so a batch
row and its `client_reference` exist on disk before the HTTP call that uses them.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ForUpdateParameter
from ulid import ULID

from textcast.db import commit_without_waiting_for_disk, is_among
from textcast.domain.audience import suppressions
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.campaigns import send_window
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import priced_country
from textcast.domain.campaigns.queue import cursor_of, deferred_of, unclaimed
from textcast.domain.content.rendering import outgoing
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ClaimCursor,
    Contact,
    Message,
    MessageStatus,
    SkipReason,
    utcnow,
)


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
PAUSED_FOR_BUDGET = "budget reached"
Places = dict[str, tuple[str | None, str | None]]
"""Contacts' (country, time zone) by number."""
_NOWHERE: tuple[str | None, str | None] = (None, None)


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
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == CampaignStatus.SENDING, queued)
            .order_by(Campaign.id)
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


def screen_claims(
    session: Session,
    claims: list[Claim],
    secret: bytes,
    *,
    post_now: bool = False,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> list[ClaimedBatch]:
    """Apply opt-outs, send windows and budget to claims of one campaign (in claim order);
    the batches someone is left in.

    Numbers suppressed since launch (a STOP mid-campaign) are skipped; `secret` keys the
    suppression hashes. With a `policy`, marketing messages outside their recipient's send
    window are deferred to its next opening (skipped past the campaign's expiry), and a
    campaign with a budget is paused when the next messages would exceed it. `post_now` (no
    token wait ahead) makes this the batches' last opt-out check too, as `prepare_post`
    would, and leaves them `posting`, saving a transaction. A campaign paused or cancelled
    since the claims gets their messages back. Screened together, the claims share one
    lookup of opt-outs and one of contacts.
    """
    if not claims:
        return []
    first = claims[0]
    if any(claim.campaign_id != first.campaign_id for claim in claims):
        raise ValueError("claims of one campaign at a time")
    if post_now:
        hold_opt_out_lock(session, shared=True)
    else:
        commit_without_waiting_for_disk(session)  # `prepare_post` commits before the POST
    now = now or utcnow()
    # The campaign's status holds until commit: a pause or cancel (which lock it for update)
    # waits for this screening, which waits for neither claims nor other screenings. Those
    # against a budget take turns instead: each reads what the previous one spent.
    budgeted = first.budgeted and policy is not None
    lock: ForUpdateParameter = True if budgeted else {"read": True, "key_share": True}
    campaign = session.get_one(Campaign, first.campaign_id, with_for_update=lock)
    if campaign.status != CampaignStatus.SENDING or (
        campaign.budget is not None and not budgeted and policy is not None
    ):
        # Paused, cancelled, or given a budget since the claims.
        for claim in claims:
            _give_back(
                session,
                claim.batch_id,
                campaign.id,
                (claim.rows[0].id, claim.rows[-1].id),
                cancelled=campaign.status == CampaignStatus.CANCELLED,
                now=now,
            )
        return []
    marketing = campaign.kind == CampaignKind.MARKETING
    checks_opt_outs = campaign.kind != CampaignKind.REPLY
    rows = [row for claim in claims for row in claim.rows]
    places: Places | None = None  # looked up once, only when needed
    if checks_opt_outs:
        rows = _skip_suppressed(session, secret, rows, now)
    if policy is not None and marketing and rows:
        places = _places(session, [row.phone for row in rows])
        rows = _hold_outside_window(session, campaign, rows, places, policy, now)
        if campaign.budget is not None and rows:
            # In id order: the claims the budget still pays for, then maybe part of one.
            rows = _within_budget(session, campaign, rows, places, policy, now)
    # Usually nobody was held back: each claim's rows are then its batch's as they are.
    kept = None if len(rows) == sum(len(c.rows) for c in claims) else {row.id for row in rows}
    screened: list[ClaimedBatch] = []
    emptied: list[str] = []
    for claim in claims:
        mine = claim.rows if kept is None else [row for row in claim.rows if row.id in kept]
        batch = _screened(campaign, claim, mine, post_now)
        if batch is None:
            emptied.append(claim.batch_id)  # everybody went elsewhere
        else:
            screened.append(batch)
    if emptied:
        session.execute(delete(BATCHES).where(BATCHES.c.id.in_(emptied)))
    if screened:
        session.execute(
            update(BATCHES)
            .where(BATCHES.c.id == bindparam("b_id"))
            .values(
                state=BatchState.POSTING if post_now else BatchState.SUBMITTING,
                recipient_count=bindparam("b_count"),
                parts=bindparam("b_parts"),
                first_message_id=bindparam("b_first"),
                last_message_id=bindparam("b_last"),
            ),
            [
                {
                    "b_id": batch.id,
                    "b_count": len(batch.recipients),
                    "b_parts": batch.parts,
                    "b_first": batch.first_message_id,
                    "b_last": batch.last_message_id,
                }
                for batch in screened
            ],
        )
    if policy is not None and campaign.budget is None and rows:
        # What a budget tracks as it claims, every other campaign adds up here (one atomic
        # increment: parallel screenings never lose each other's share). Last, as it holds
        # the campaign's row until commit.
        if places is None:
            places = _places(session, [row.phone for row in rows])
        session.execute(
            update(CAMPAIGNS)
            .where(CAMPAIGNS.c.id == campaign.id)
            .values(spent=CAMPAIGNS.c.spent + _cost(rows, places, policy))
        )
    return screened


def _screened(
    campaign: Campaign, claim: Claim, rows: list[Claimed], posting: bool
) -> ClaimedBatch | None:
    if not rows:
        return None
    body, parameters = _text_of(campaign, rows)
    return ClaimedBatch(
        id=claim.batch_id,
        campaign_id=campaign.id,
        body=body,
        sender=campaign.sender,
        recipients=sorted(row.phone for row in rows),
        parts=sum(row.parts for row in rows),
        created_at=claim.created_at,
        parameters=parameters,
        attempts=1,
        checks_opt_outs=campaign.kind != CampaignKind.REPLY,
        posting=posting,
        first_message_id=rows[0].id,
        last_message_id=rows[-1].id,
    )


def _give_back(
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
        .where(*_pending(batch_id, campaign_id, first, last))
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
        _give_back(session, batch_id, campaign_id, (first, last), cancelled=cancelled, now=now)
    return len(released)


def _text_of(campaign: Campaign, rows: list[Claimed]) -> tuple[str, dict[str, dict[str, str]]]:
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
        session.execute(update(Message), [_moved(i, MessageStatus.QUEUED, now) for i in overfilled])
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


def _skip_suppressed(
    session: Session, secret: bytes, claimed: list[Claimed], now: datetime
) -> list[Claimed]:
    opted_out = suppressions.suppressed_among(session, secret, (row.phone for row in claimed))
    if not opted_out:
        return claimed
    skipped = [row.id for row in claimed if row.phone in opted_out]
    session.execute(
        update(Message)
        .where(Message.id.in_(skipped))
        .values(
            status=MessageStatus.SKIPPED, batch_id=None, error=SkipReason.OPTED_OUT, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return [row for row in claimed if row.phone not in opted_out]


def _places(session: Session, phones: list[str]) -> Places:
    """Country and time zone of the contacts among `phones` (numbers alone have neither)."""
    among = is_among(Contact.phone, phones, "phones", session.get_bind().dialect.name)
    rows = session.execute(select(Contact.phone, Contact.country, Contact.time_zone).where(among))
    return {phone: (country, zone) for phone, country, zone in rows}


def _hold_outside_window(
    session: Session,
    campaign: Campaign,
    rows: list[Claimed],
    places: Places,
    policy: Policy,
    now: datetime,
) -> list[Claimed]:
    kept: list[Claimed] = []
    held: list[dict[str, Any]] = []
    verdicts = send_window.Verdicts(now, policy.rules)
    for row in rows:
        country, zone_name = places.get(row.phone, _NOWHERE)
        allowed = verdicts.allowed(row.phone, country, zone_name)
        if allowed is None:
            held.append(_moved(row.id, MessageStatus.SKIPPED, now, error=SkipReason.NO_WINDOW))
        elif allowed <= now:
            kept.append(row)
        elif campaign.expires_at is not None and allowed >= campaign.expires_at:
            held.append(_moved(row.id, MessageStatus.SKIPPED, now, error=SkipReason.OUTSIDE_WINDOW))
        else:
            held.append(_moved(row.id, MessageStatus.DEFERRED, now, not_before=allowed))
    if held:
        session.execute(update(Message), held)
    return kept


def _cost(rows: list[Claimed], places: Places, policy: Policy) -> float:
    parts_by_country: Counter[str | None] = Counter()
    for row in rows:
        parts_by_country[_priced_as(row.phone, places)] += row.parts
    return sum(n * policy.prices.part_price(country) for country, n in parts_by_country.items())


def _row_cost(row: Claimed, places: Places, policy: Policy) -> float:
    return row.parts * policy.prices.part_price(_priced_as(row.phone, places))


def _priced_as(phone: str, places: Places) -> str | None:
    return priced_country(phone, places.get(phone, _NOWHERE)[0])


def _within_budget(
    session: Session,
    campaign: Campaign,
    rows: list[Claimed],
    places: Places,
    policy: Policy,
    now: datetime,
) -> list[Claimed]:
    """The rows the budget still pays for; at the limit the campaign pauses, the rest wait."""
    assert campaign.budget is not None
    left = campaign.budget - campaign.spent
    kept: list[Claimed] = []
    spent = 0.0
    for row in rows:
        cost = _row_cost(row, places, policy)
        if spent + cost > left + 1e-9:
            break
        kept.append(row)
        spent += cost
    if len(kept) < len(rows):
        requeued_rows = rows[len(kept) :]
        session.execute(
            update(Message), [_moved(row.id, MessageStatus.QUEUED, now) for row in requeued_rows]
        )
        requeued(session, campaign.id, requeued_rows[0].id)
        campaign.status = CampaignStatus.PAUSED
        campaign.status_reason = (
            f"{PAUSED_FOR_BUDGET}: {campaign.spent + spent:.2f} of {campaign.budget:.2f} "
            f"{policy.prices.currency} spent"
        )
    campaign.spent += spent
    return kept


def _moved(
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    error: str | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": message_id,
        "status": status,
        "batch_id": None,
        "error": error,
        "not_before": not_before,
        "updated_at": now,
    }


def wake_deferred(session: Session, now: datetime) -> int:
    """Deferred messages of sending campaigns whose time has come queue again; those whose
    campaign expired meanwhile are skipped.

    The campaigns holding deferred messages come from the partial index that holds nothing
    else, then each campaign's rows are reached through it by `campaign_id`: a plan walking
    the whole table, once a second, never gets the chance.
    """
    holding = (
        select(Message.campaign_id)
        .where(Message.not_before.is_not(None), Message.status == MessageStatus.DEFERRED)
        .distinct()
    )
    count = 0
    for campaign_id, status, expires_at in session.execute(
        select(Campaign.id, Campaign.status, Campaign.expires_at).where(Campaign.id.in_(holding))
    ):
        deferred = deferred_of(campaign_id)
        if expires_at is not None and expires_at <= now:
            session.execute(
                update(MESSAGES)
                .where(*deferred)
                .values(
                    status=MessageStatus.SKIPPED,
                    error=SkipReason.OUTSIDE_WINDOW,
                    not_before=None,
                    updated_at=now,
                )
            )
        elif status == CampaignStatus.SENDING:
            woken = session.scalars(
                update(MESSAGES)
                .where(*deferred, Message.not_before <= now)
                .values(status=MessageStatus.QUEUED, not_before=None, updated_at=now)
                .returning(MESSAGES.c.id)
            ).all()
            if woken:
                requeued(session, campaign_id, min(woken))
                count += len(woken)
    return count


def requeued(session: Session, campaign_id: int, first_id: int) -> None:
    """Messages from `first_id` on are queued again: the next claim starts before them."""
    session.execute(
        update(CURSORS)
        .where(CURSORS.c.campaign_id == campaign_id, CURSORS.c.claimed_through >= first_id)
        .values(claimed_through=first_id - 1)
    )


def reload_batch(session: Session, batch_id: str) -> ClaimedBatch:
    """The batch as it was claimed, for a retry or a resend after reconciliation."""
    batch = session.get_one(Batch, batch_id)
    campaign = session.get_one(Campaign, batch.campaign_id)
    rows = session.execute(
        select(Message.id, Message.phone, Message.parts, Message.variables)
        .where(*_pending_in(batch))
        .order_by(Message.phone)
    )
    claimed = list(map(Claimed._make, rows))
    body, parameters = _text_of(campaign, claimed)
    return ClaimedBatch(
        id=batch.id,
        campaign_id=batch.campaign_id,
        body=body,
        sender=campaign.sender,
        recipients=[row.phone for row in claimed],
        parts=batch.parts,
        created_at=batch.created_at,
        parameters=parameters,
        attempts=batch.attempts,
        checks_opt_outs=campaign.kind != CampaignKind.REPLY,
    )


def prepare_post(session: Session, batch: ClaimedBatch, secret: bytes) -> ClaimedBatch:
    """The last opt-out check, right before the POST; the batch becomes `posting`.

    A STOP committed before this transaction is honoured here. One committed after it waits,
    before being acknowledged, until this batch has left (see `inflight_posts_to`), so once a
    STOP is acknowledged no later batch carries the number. On PostgreSQL a shared advisory lock
    orders this check against opt-outs, which take it exclusively; SQLite's single writer does
    the same by itself.
    """
    hold_opt_out_lock(session, shared=True)
    opted_out = (
        suppressions.suppressed_among(session, secret, batch.recipients)
        if batch.checks_opt_outs
        else set()
    )
    if opted_out:
        session.execute(
            update(Message)
            .where(
                Message.campaign_id == batch.campaign_id,
                Message.phone.in_(opted_out),
                Message.batch_id == batch.id,
            )
            .values(
                status=MessageStatus.SKIPPED,
                batch_id=None,
                error=SkipReason.OPTED_OUT,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        kept = [phone for phone in batch.recipients if phone not in opted_out]
        batch = dataclasses.replace(
            batch,
            recipients=kept,
            parts=batch.parts * len(kept) // len(batch.recipients),
            parameters={
                key: {phone: v for phone, v in values.items() if phone not in opted_out}
                for key, values in batch.parameters.items()
            },
        )
    state = BatchState.POSTING if batch.recipients else BatchState.SKIPPED
    batch = dataclasses.replace(batch, posting=True)
    session.execute(
        update(Batch)
        .where(Batch.id == batch.id)
        .values(state=state, recipient_count=len(batch.recipients), parts=batch.parts)
    )
    return batch


def inflight_posts_to(session: Session, phone: str) -> int:
    """Batches past their last opt-out check, still on their way, that include `phone`."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Batch)
            .join(
                Message,
                (Message.campaign_id == Batch.campaign_id)
                & (Message.phone == phone)
                & (Message.batch_id == Batch.id),
            )
            .where(Batch.state == BatchState.POSTING)
        )
        or 0
    )


def mark_resubmitting(session: Session, batch_id: str) -> None:
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(state=BatchState.SUBMITTING, attempts=Batch.attempts + 1, next_attempt_at=None)
    )


def _pending_in(batch: Batch) -> tuple[ColumnElement[bool], ...]:
    return _pending(batch.id, batch.campaign_id, batch.first_message_id, batch.last_message_id)


def _pending(
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


def record_accepted(session: Session, batch_id: str, provider_batch_id: str) -> None:
    # Lost in a crash, the batch is found at Sinch by its client_reference on restart.
    commit_without_waiting_for_disk(session)
    now = utcnow()
    batch = session.execute(
        update(BATCHES)
        .where(BATCHES.c.id == batch_id)
        .values(
            state=BatchState.ACCEPTED,
            provider_batch_id=provider_batch_id,
            accepted_at=now,
            last_error=None,
            next_attempt_at=None,
        )
        .returning(BATCHES.c.campaign_id, BATCHES.c.first_message_id, BATCHES.c.last_message_id)
    ).one()
    # A delivery report may have overtaken the 201; only `submitting` rows move forward here.
    session.execute(
        update(MESSAGES)
        .where(*_pending(batch_id, *batch))
        .values(status=MessageStatus.ACCEPTED, updated_at=now, sent_at=now)
    )


def record_rejected(session: Session, batch_id: str, reason: str) -> None:
    now = utcnow()
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(state=BatchState.REJECTED, last_error=reason, next_attempt_at=None)
    )
    session.execute(
        update(Message)
        .where(*_pending_in(session.get_one(Batch, batch_id)))
        .values(status=MessageStatus.FAILED, error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def record_retry(session: Session, batch_id: str, reason: str, delay: timedelta) -> None:
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(state=BatchState.RETRY, last_error=reason, next_attempt_at=utcnow() + delay)
    )


def record_unknown(session: Session, batch_id: str, reason: str, check_after: timedelta) -> None:
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(state=BatchState.UNKNOWN, last_error=reason, next_attempt_at=utcnow() + check_after)
    )


def record_stranded(
    session: Session, batch_ids: list[str], reason: str, check_after: timedelta
) -> int:
    """Open batches left behind by a failed step become `unknown`: looked up, once Sinch has
    had `check_after` to settle, before anything is resent (their POST may have left)."""
    marked = session.scalars(
        update(BATCHES)
        .where(
            BATCHES.c.id.in_(batch_ids),
            BATCHES.c.state.in_((BatchState.SUBMITTING, BatchState.POSTING)),
        )
        .values(state=BatchState.UNKNOWN, last_error=reason, next_attempt_at=utcnow() + check_after)
        .returning(BATCHES.c.id)
    )
    return len(marked.all())


def due_batches(session: Session, state: BatchState, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Batch.id)
            .where(Batch.state == state, Batch.next_attempt_at <= now)
            .order_by(Batch.next_attempt_at)
        )
    )


def open_batches(session: Session) -> list[tuple[str, BatchState]]:
    """Batches somewhere between their claim and Sinch's answer, oldest first: each either
    belongs to a dispatcher's work in progress, or was stranded by a step that failed."""
    states = (BatchState.CLAIMED, BatchState.SUBMITTING, BatchState.POSTING)
    rows = session.execute(
        select(Batch.id, Batch.state).where(Batch.state.in_(states)).order_by(Batch.created_at)
    )
    return [(batch_id, state) for batch_id, state in rows]


def orphaned_batches(session: Session) -> list[str]:
    """Batches left `submitting` or `unknown` by a process that is gone."""
    return list(
        session.scalars(
            select(Batch.id)
            .where(Batch.state.in_((BatchState.SUBMITTING, BatchState.POSTING, BatchState.UNKNOWN)))
            .order_by(Batch.created_at)
        )
    )
