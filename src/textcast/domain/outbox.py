"""The outbox: claim due messages into batches and record what Sinch made of them.

Every function here runs in its own short transaction, committed by the caller, so a batch
row and its `client_reference` exist on disk before the HTTP call that uses them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.domain import suppressions
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Message,
    MessageStatus,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    id: str
    """Also the `client_reference` Sinch sees."""
    campaign_id: int
    body: str
    sender: str | None
    recipients: list[str]
    parts: int
    created_at: datetime
    attempts: int = 0
    checks_opt_outs: bool = True
    """Marketing batches skip opted-out numbers; keyword replies (a STOP's confirmation) don't."""
    posting: bool = False
    """Its last opt-out check is done: it may leave as it is."""


SKIPPED_OPTED_OUT = "opted_out"


def new_batch_id() -> str:
    return f"tcb_{ULID()}"


def sending_campaign_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == CampaignStatus.SENDING)
            .order_by(Campaign.id)
        )
    )


def claim_batch(
    session: Session, campaign_id: int, size: int, secret: bytes, *, post_now: bool = False
) -> ClaimedBatch | None:
    """Attach up to `size` queued messages of one campaign to a new `submitting` batch.

    Numbers suppressed since launch (a STOP mid-campaign) are skipped here; `secret` keys the
    suppression hashes. `post_now` (no token wait ahead) makes this the batch's last opt-out
    check too, as `prepare_post` would, and leaves it `posting`, saving a transaction.
    """
    if post_now:
        hold_opt_out_lock(session, shared=True)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return None
    now = utcnow()
    batch = Batch(
        id=new_batch_id(),
        campaign_id=campaign_id,
        state=BatchState.SUBMITTING,
        recipient_count=0,
        parts=0,
        attempts=1,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    checks_opt_outs = campaign.kind == CampaignKind.MARKETING
    rows: list[tuple[int, str, int]] = []
    while not rows:
        claimed = _claim_due(session, campaign_id, size, batch.id, now)
        if not claimed:
            session.execute(delete(Batch).where(Batch.id == batch.id))
            return None
        rows = _skip_suppressed(session, secret, claimed, now) if checks_opt_outs else claimed
    batch.recipient_count = len(rows)
    batch.parts = sum(parts for _, _, parts in rows)
    if post_now:
        batch.state = BatchState.POSTING
    return ClaimedBatch(
        id=batch.id,
        campaign_id=campaign_id,
        body=campaign.body,
        sender=campaign.sender,
        recipients=sorted(phone for _, phone, _ in rows),
        parts=batch.parts,
        created_at=now,
        attempts=1,
        checks_opt_outs=checks_opt_outs,
        posting=post_now,
    )


def _claim_due(
    session: Session, campaign_id: int, size: int, batch_id: str, now: datetime
) -> list[tuple[int, str, int]]:
    due = (
        select(Message.id)
        .where(Message.campaign_id == campaign_id, Message.status == MessageStatus.QUEUED)
        .order_by(Message.id)
        .limit(size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = session.execute(
        update(Message)
        .where(Message.id.in_(due.scalar_subquery()))
        .values(status=MessageStatus.SUBMITTING, batch_id=batch_id, updated_at=now)
        .returning(Message.id, Message.phone, Message.parts),
        execution_options={"synchronize_session": False},
    )
    return [(row[0], row[1], row[2]) for row in result]


def _skip_suppressed(
    session: Session, secret: bytes, claimed: list[tuple[int, str, int]], now: datetime
) -> list[tuple[int, str, int]]:
    opted_out = suppressions.suppressed_among(session, secret, (phone for _, phone, _ in claimed))
    if not opted_out:
        return claimed
    skipped = [message_id for message_id, phone, _ in claimed if phone in opted_out]
    session.execute(
        update(Message)
        .where(Message.id.in_(skipped))
        .values(
            status=MessageStatus.SKIPPED, batch_id=None, error=SKIPPED_OPTED_OUT, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return [row for row in claimed if row[1] not in opted_out]


def reload_batch(session: Session, batch_id: str) -> ClaimedBatch:
    """The batch as it was claimed, for a retry or a resend after reconciliation."""
    batch = session.get_one(Batch, batch_id)
    campaign = session.get_one(Campaign, batch.campaign_id)
    phones = session.scalars(
        select(Message.phone).where(*_pending_in(batch)).order_by(Message.phone)
    ).all()
    return ClaimedBatch(
        id=batch.id,
        campaign_id=batch.campaign_id,
        body=campaign.body,
        sender=campaign.sender,
        recipients=list(phones),
        parts=batch.parts,
        created_at=batch.created_at,
        attempts=batch.attempts,
        checks_opt_outs=campaign.kind == CampaignKind.MARKETING,
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
                error=SKIPPED_OPTED_OUT,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        kept = [phone for phone in batch.recipients if phone not in opted_out]
        batch = dataclasses.replace(
            batch,
            recipients=kept,
            parts=batch.parts * len(kept) // len(batch.recipients),
        )
    state = BatchState.POSTING if batch.recipients else BatchState.SKIPPED
    batch = dataclasses.replace(batch, posting=True)
    session.execute(
        update(Batch)
        .where(Batch.id == batch.id)
        .values(state=state, recipient_count=len(batch.recipients), parts=batch.parts)
    )
    return batch


OPT_OUT_LOCK_KEY = 0x6F70746F7574  # "optout"


def hold_opt_out_lock(session: Session, *, shared: bool) -> None:
    """Until commit: shared for pre-POST checks, exclusive for opt-outs (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {function}(:key)"), {"key": OPT_OUT_LOCK_KEY})


def inflight_posts_to(session: Session, phone: str) -> int:
    """Batches past their last opt-out check, still on their way, that include `phone`."""
    posting = select(Batch.id).where(Batch.state == BatchState.POSTING)
    return (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.batch_id.in_(posting), Message.phone == phone)
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
    """The batch's messages still `submitting`, found through (campaign_id, status, id)."""
    return (
        Message.campaign_id == batch.campaign_id,
        Message.status == MessageStatus.SUBMITTING,
        Message.batch_id == batch.id,
    )


def record_accepted(session: Session, batch_id: str, provider_batch_id: str) -> None:
    now = utcnow()
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(
            state=BatchState.ACCEPTED,
            provider_batch_id=provider_batch_id,
            accepted_at=now,
            last_error=None,
            next_attempt_at=None,
        )
    )
    # A delivery report may have overtaken the 201; only `submitting` rows move forward here.
    session.execute(
        update(Message)
        .where(*_pending_in(session.get_one(Batch, batch_id)))
        .values(status=MessageStatus.ACCEPTED, updated_at=now)
        .execution_options(synchronize_session=False)
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


def due_batches(session: Session, state: BatchState, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Batch.id)
            .where(Batch.state == state, Batch.next_attempt_at <= now)
            .order_by(Batch.next_attempt_at)
        )
    )


def orphaned_batches(session: Session) -> list[str]:
    """Batches left `submitting` or `unknown` by a process that is gone."""
    return list(
        session.scalars(
            select(Batch.id)
            .where(Batch.state.in_((BatchState.SUBMITTING, BatchState.POSTING, BatchState.UNKNOWN)))
            .order_by(Batch.created_at)
        )
    )
