"""The webhook inbox: store every callback once, then apply it to messages.

Status precedence (a final status never regresses):

    queued < submitting < accepted < dispatched < any final status

A report only moves a message forward in that order. Sinch's `Queued` means "accepted", so
it never moves a message back; the first final status (delivered, failed, expired, rejected,
aborted, cancelled, deleted, unknown) wins and later reports for that message are kept in
the inbox but change nothing.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Table,
    Update,
    bindparam,
    delete,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textcast.models import (
    Batch,
    InboundMessage,
    Message,
    MessageStatus,
    WebhookEvent,
    WebhookKind,
    WebhookNonce,
    utcnow,
)

RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SUBMITTING: 1,
    MessageStatus.ACCEPTED: 2,
    MessageStatus.DISPATCHED: 3,
}
FINAL_RANK = 4


def rank(status: MessageStatus) -> int:
    return RANK.get(status, FINAL_RANK)


@dataclass(frozen=True, slots=True)
class StatusReport:
    phone: str
    """E.164 with `+`."""
    status: MessageStatus | None
    """None for a status name we do not know: stored, never applied."""
    code: int
    batch_ref: str | None
    """Our batch id, when the provider echoed the `client_reference`."""
    provider_batch_id: str | None
    operator_status_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider_id: str
    from_phone: str
    to: str
    body: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    kind: WebhookKind
    dedupe_key: str
    payload: str
    reports: Sequence[StatusReport] = ()
    inbound: InboundSms | None = None
    nonce: str | None = None


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REPLAYED = "replayed"


@dataclass
class _Resolution:
    batch_ids: set[str] = field(default_factory=set)
    by_provider_id: dict[str, str] = field(default_factory=dict)

    def batch_for(self, report: StatusReport) -> str | None:
        if report.batch_ref in self.batch_ids:
            return report.batch_ref
        if report.provider_batch_id:
            return self.by_provider_id.get(report.provider_batch_id)
        return None


def store_events(session: Session, events: Sequence[IncomingEvent]) -> list[Outcome]:
    """Store a group of callbacks in one transaction; returns what happened to each."""
    outcomes = _claim_nonces(session, events)
    fresh = [i for i, o in enumerate(outcomes) if o is Outcome.STORED]
    resolution = _resolve_batches(session, (r for i in fresh for r in events[i].reports))
    now = utcnow()
    rows = [
        {
            "kind": events[i].kind.value,
            "dedupe_key": events[i].dedupe_key,
            "payload": events[i].payload,
            "received_at": now,
            "processed_at": now if _applicable(events[i], resolution) else None,
            "attempts": 0,
        }
        for i in fresh
    ]
    inserted = _insert_ignoring_conflicts(session, WebhookEvent, rows, "dedupe_key")
    new_events = []
    for i in fresh:
        if events[i].dedupe_key in inserted:
            inserted.discard(events[i].dedupe_key)  # a repeat inside this group is a duplicate
            new_events.append(events[i])
        else:
            outcomes[i] = Outcome.DUPLICATE
    apply_reports(session, [r for e in new_events for r in e.reports], resolution)
    for event in new_events:
        if event.inbound is not None:
            store_inbound(session, event.inbound)
    return outcomes


def _claim_nonces(session: Session, events: Sequence[IncomingEvent]) -> list[Outcome]:
    nonces = [e.nonce for e in events if e.nonce]
    if not nonces:
        return [Outcome.STORED] * len(events)
    now = utcnow()
    fresh = _insert_ignoring_conflicts(
        session,
        WebhookNonce,
        [{"nonce": n, "seen_at": now} for n in dict.fromkeys(nonces)],
        "nonce",
    )
    outcomes = []
    for event in events:
        if event.nonce is None:
            outcomes.append(Outcome.STORED)
        elif event.nonce in fresh:
            fresh.discard(event.nonce)
            outcomes.append(Outcome.STORED)
        else:
            outcomes.append(Outcome.REPLAYED)
    return outcomes


def _insert_ignoring_conflicts(
    session: Session, model: type[Any], rows: list[dict[str, Any]], key: str
) -> set[str]:
    """INSERT .. ON CONFLICT DO NOTHING; returns the keys actually inserted."""
    if not rows:
        return set()
    table = cast(Table, model.__table__)
    statement = _insert_statement(session.get_bind().dialect.name, table, key)
    return set(session.execute(statement, rows).scalars().all())


@functools.cache
def _insert_statement(dialect: str, table: Table, key: str) -> Insert:
    # The Core table, not the ORM entity: the ORM's bulk insert path costs several times more,
    # and statements built once skip SQLAlchemy's per-call construction (the webhook hot path).
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])


def _resolve_batches(session: Session, reports: Iterable[StatusReport]) -> _Resolution:
    refs: set[str] = set()
    provider_ids: set[str] = set()
    for report in reports:
        if report.batch_ref:
            refs.add(report.batch_ref)
        if report.provider_batch_id:
            provider_ids.add(report.provider_batch_id)
    resolution = _Resolution()
    if not refs and not provider_ids:
        return resolution
    rows = session.execute(
        select(Batch.id, Batch.provider_batch_id).where(
            or_(Batch.id.in_(refs), Batch.provider_batch_id.in_(provider_ids))
        )
    ).all()
    for batch_id, provider_id in rows:
        resolution.batch_ids.add(batch_id)
        if provider_id:
            resolution.by_provider_id[provider_id] = batch_id
    return resolution


def _applicable(event: IncomingEvent, resolution: _Resolution) -> bool:
    """Inbound messages always apply; reports only once their batch is known here."""
    return all(resolution.batch_for(r) is not None for r in event.reports)


def apply_reports(
    session: Session, reports: Sequence[StatusReport], resolution: _Resolution | None = None
) -> int:
    """Move messages forward by the precedence above; returns how many reports matched a batch."""
    resolution = resolution or _resolve_batches(session, reports)
    by_status: dict[MessageStatus, list[dict[str, Any]]] = defaultdict(list)
    matched = 0
    now = utcnow()
    for report in reports:
        batch_id = resolution.batch_for(report)
        if batch_id is None:
            continue
        matched += 1
        if report.status is None:
            continue
        by_status[report.status].append(
            {
                "b_batch": batch_id,
                "b_phone": report.phone,
                "b_code": report.code,
                "b_at": report.operator_status_at,
                "b_now": now,
            }
        )
    for status, params in by_status.items():
        session.execute(_advance_statement(status), params)
    return matched


@functools.cache
def _advance_statement(status: MessageStatus) -> Update:
    """Move one message (by batch and phone) to `status` if it is earlier in the precedence."""
    table = cast(Table, Message.__table__)
    # Inlined literals (our own enum values): executemany cannot expand an IN list.
    earlier: list[ColumnElement[str]] = [
        literal_column(f"'{s.value}'") for s in MessageStatus if rank(s) < rank(status)
    ]
    # Core, not ORM: a plain executemany is what makes group commit fast.
    return (
        update(table)
        .where(
            table.c.batch_id == bindparam("b_batch"),
            table.c.phone == bindparam("b_phone"),
            table.c.status.in_(earlier),
        )
        .values(
            status=status.value,
            status_code=bindparam("b_code"),
            operator_status_at=bindparam("b_at"),
            updated_at=bindparam("b_now"),
        )
    )


def store_inbound(session: Session, sms: InboundSms) -> None:
    last_campaign = session.scalar(
        select(Message.campaign_id)
        .where(Message.phone == sms.from_phone)
        .order_by(Message.id.desc())
        .limit(1)
    )
    rows = [
        {
            "provider_id": sms.provider_id,
            "from_phone": sms.from_phone,
            "to": sms.to,
            "body": sms.body,
            "received_at": sms.received_at,
            "campaign_id": last_campaign,
            "created_at": utcnow(),
        }
    ]
    _insert_ignoring_conflicts(session, InboundMessage, rows, "provider_id")


MAX_EVENT_ATTEMPTS = 50


def unprocessed_events(session: Session, limit: int = 500) -> list[WebhookEvent]:
    """Stored reports whose batch was not known yet (e.g. it outran the 201)."""
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.processed_at.is_(None),
                WebhookEvent.attempts < MAX_EVENT_ATTEMPTS,
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )


def retry_event(session: Session, event: WebhookEvent, parsed: IncomingEvent) -> bool:
    """Apply a stored event whose batch was unknown when it arrived; True once applied."""
    resolution = _resolve_batches(session, parsed.reports)
    stored = session.get_one(WebhookEvent, event.id)
    stored.attempts += 1
    if not _applicable(parsed, resolution):
        return False
    apply_reports(session, parsed.reports, resolution)
    stored.processed_at = utcnow()
    return True


def forget_nonces(session: Session, older_than: datetime) -> None:
    """Nonces only need remembering while their timestamp would still be accepted."""
    session.execute(delete(WebhookNonce).where(WebhookNonce.seen_at < older_than))
