"""The batch ledger: a screened batch's last opt-out check before its POST, and what Sinch made
of it (accepted, rejected, to retry, unknown); the batches due again, still open or left behind
by a process that is gone, and a batch reloaded as it was claimed for a retry or a resend.

Every function here runs in its own short transaction, committed by the caller, so a batch
row and its `client_reference` exist on disk before the HTTP call that uses them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from textcast.db import commit_without_waiting_for_disk
from textcast.domain import stream
from textcast.domain.audience import suppressions
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.outbox.claims import (
    BATCHES,
    MESSAGES,
    Claimed,
    ClaimedBatch,
    pending,
    text_of,
)
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    EventType,
    Message,
    MessageStatus,
    SkipReason,
    utcnow,
)
from textcast.vocabulary import CHECKS_OPT_OUTS


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
    body, parameters = text_of(campaign, claimed)
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
        checks_opt_outs=campaign.kind in CHECKS_OPT_OUTS,
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
    return pending(batch.id, batch.campaign_id, batch.first_message_id, batch.last_message_id)


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
    accepting = (
        update(MESSAGES)
        .where(*pending(batch_id, *batch))
        .values(status=MessageStatus.ACCEPTED, updated_at=now, sent_at=now)
    )
    if not stream.wanted(session, EventType.MESSAGE_SENT):
        session.execute(accepting)
        return
    sent = session.execute(
        accepting.returning(MESSAGES.c.id, MESSAGES.c.phone, MESSAGES.c.parts)
    ).all()
    campaign_id = batch.campaign_id
    common = {
        "campaign_id": campaign_id,
        "campaign_kind": _kind_of(session, campaign_id),
        "batch_id": batch_id,
        "sent_at": stream.timestamp(now),
    }
    stream.record_many(
        session,
        EventType.MESSAGE_SENT,
        [
            {"message_id": message_id, "phone": phone, "parts": parts, **common}
            for message_id, phone, parts in sorted(sent)
        ],
        at=now,
    )


def record_rejected(session: Session, batch_id: str, reason: str, code: int | None = None) -> None:
    """The provider refused the batch for good (`code`: its HTTP status, 400 or 403), or
    retries gave up: its messages failed, with `reason` in words."""
    now = utcnow()
    batch = session.get_one(Batch, batch_id)
    batch.state = BatchState.REJECTED
    batch.last_error = reason
    batch.next_attempt_at = None
    failing = (
        update(MESSAGES)
        .where(*_pending_in(batch))
        .values(status=MessageStatus.FAILED, error=reason, updated_at=now)
    )
    if not stream.wanted(session, EventType.MESSAGE_FAILED):
        session.execute(failing)
        return
    failed = session.execute(failing.returning(MESSAGES.c.id, MESSAGES.c.phone)).all()
    common = {
        "campaign_id": batch.campaign_id,
        "campaign_kind": _kind_of(session, batch.campaign_id),
        "status": MessageStatus.FAILED.value,
        "code": code,
        "meaning": reason,
        "failed_at": stream.timestamp(now),
    }
    stream.record_many(
        session,
        EventType.MESSAGE_FAILED,
        [
            {"message_id": message_id, "phone": phone, **common}
            for message_id, phone in sorted(failed)
        ],
        at=now,
    )


def _kind_of(session: Session, campaign_id: int) -> str:
    return str(session.scalar(select(Campaign.kind).where(Campaign.id == campaign_id)))


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
