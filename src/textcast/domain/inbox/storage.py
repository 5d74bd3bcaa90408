"""The webhook inbox: store every callback once, then apply it to messages.

Status precedence (a final status never regresses):

    queued < submitting < accepted < dispatched < any final status

A report only moves a message forward in that order. Sinch's `Queued` means "accepted", so
it never moves a message back; the first final status (delivered, failed, expired, rejected,
aborted, cancelled, deleted, unknown) wins and later reports for that message are kept in
the inbox but change nothing.

`store_events` is the webhooks' hot path (one call per group commit): each table gets one
statement per group.

One event never fails the events stored beside it. The group's statements cannot fail for one
event (the callbacks' fields are bounded when parsed, `sinch.models`), and the only per-event
work, acting on an inbound message, is isolated by savepoints (`_act_on`): an event that can
never be applied is kept, marked `inapplicable` with the reason, answered 2xx (a retry would
fail again) and never retried.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    NestedTransaction,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from textcast.db import execute_on_sqlite, json_array, json_item, rows_as_json
from textcast.domain.inbox.events import InboundSms, IncomingEvent, Outcome, StatusReport
from textcast.domain.phones.numbers import mask_phone
from textcast.models import (
    Batch,
    InboundMessage,
    Message,
    MessageStatus,
    WebhookEvent,
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
INAPPLICABLE_REASON_LENGTH = 200

log = logging.getLogger("textcast.webhooks")


def rank(status: MessageStatus) -> int:
    return RANK.get(status, FINAL_RANK)


class InapplicableEvent(Exception):
    """An event that can never be applied, whenever it is tried: the message says why, in
    words for an operator, without the event's number or text."""


class KnownBatches:
    """Batches already found, by our id and by the provider's: facts that never change.

    A batch's id and its provider id, once recorded, stay as they are, so remembering them
    spares each group commit a lookup. Only found batches are remembered: a report that
    outran its batch's 201 is looked up again the next time.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._campaigns: dict[str, int] = {}
        self._by_provider_id: dict[str, str] = {}

    def add(self, batch_id: str, campaign_id: int, provider_batch_id: str | None) -> None:
        if len(self._campaigns) >= self.capacity:
            # Campaigns are sent one after another: forgetting everything is as good as LRU.
            self._campaigns.clear()
            self._by_provider_id.clear()
        self._campaigns[batch_id] = campaign_id
        if provider_batch_id:
            self._by_provider_id[provider_batch_id] = batch_id

    def campaign_of(self, batch_id: str) -> int | None:
        return self._campaigns.get(batch_id)

    def by_provider_id(self, provider_batch_id: str) -> str | None:
        return self._by_provider_id.get(provider_batch_id)


@dataclass
class _Resolution:
    campaigns: dict[str, int] = field(default_factory=dict)
    """Each found batch's campaign: messages are found by (campaign_id, phone)."""
    by_provider_id: dict[str, str] = field(default_factory=dict)

    def add(self, batch_id: str, campaign_id: int, provider_batch_id: str | None) -> None:
        self.campaigns[batch_id] = campaign_id
        if provider_batch_id:
            self.by_provider_id[provider_batch_id] = batch_id

    def batch_for(self, report: StatusReport) -> str | None:
        if report.batch_ref in self.campaigns:
            return report.batch_ref
        if report.provider_batch_id:
            return self.by_provider_id.get(report.provider_batch_id)
        return None


InboundHook = Callable[[Connection, InboundSms], None]


def store_events(
    connection: Connection,
    events: Sequence[IncomingEvent],
    known: KnownBatches | None = None,
    on_inbound: InboundHook | None = None,
) -> list[Outcome]:
    """Store a group of callbacks in one transaction; returns what happened to each.

    `on_inbound` acts on each new inbound message in the same transaction (keywords, replies),
    so a STOP is applied before Sinch hears "200". On SQLite the transaction must hold the
    write lock from its start (`Database.write*`).
    """
    outcomes = _claim_nonces(connection, events)
    fresh = [
        event for event, outcome in zip(events, outcomes, strict=True) if outcome is Outcome.STORED
    ]
    resolution = _resolve_batches(connection, (r for e in fresh for r in e.reports), known)
    now = utcnow()
    rows = [
        {
            "kind": event.kind.value,
            "dedupe_key": event.dedupe_key,
            "payload": event.payload,
            "received_at": now,
            "processed_at": now if _applicable(event, resolution) else None,
            "attempts": 0,
        }
        for event in fresh
    ]
    inserted = _insert_new(connection, _table(WebhookEvent), "dedupe_key", rows)
    new_events: dict[int, IncomingEvent] = {}
    for i, event in enumerate(events):
        if outcomes[i] is not Outcome.STORED:
            continue
        if event.dedupe_key in inserted:
            inserted.discard(event.dedupe_key)  # a repeat inside this group is a duplicate
            new_events[i] = event
        else:
            outcomes[i] = Outcome.DUPLICATE
    apply_reports(connection, [r for e in new_events.values() for r in e.reports], resolution)
    inbounds = {i: e for i, e in new_events.items() if e.inbound is not None}
    for event in inbounds.values():
        assert event.inbound is not None
        store_inbound(connection, event.inbound)
    if on_inbound is not None and inbounds:
        for i in _act_on(connection, inbounds, on_inbound):
            outcomes[i] = Outcome.INAPPLICABLE
    return outcomes


def _act_on(
    connection: Connection, inbounds: dict[int, IncomingEvent], on_inbound: InboundHook
) -> list[int]:
    """Runs the hook on each message; returns the events it failed on, marked inapplicable.

    All in one savepoint first: a savepoint per message would cost two statements each, about
    a third of the work on SQLite. Only when one fails is the group's work undone and done
    again, each message in a savepoint of its own, so that the failure undoes its own effects
    only. The messages themselves stay stored.
    """
    savepoint = connection.begin_nested()
    try:
        for event in inbounds.values():
            assert event.inbound is not None
            on_inbound(connection, event.inbound)
    except Exception as exc:
        if is_database_trouble(exc):
            raise  # the whole group is answered 503, and Sinch retries it
        _roll_back(savepoint)
    else:
        savepoint.commit()
        return []
    return [i for i, event in inbounds.items() if not _acted_on(connection, event, on_inbound)]


def _acted_on(connection: Connection, event: IncomingEvent, on_inbound: InboundHook) -> bool:
    """Runs the hook in a savepoint: when it fails, only this event's effects are undone, and
    the event is marked inapplicable."""
    assert event.inbound is not None
    savepoint = connection.begin_nested()
    try:
        on_inbound(connection, event.inbound)
    except Exception as exc:
        if is_database_trouble(exc):
            raise
        reason = inapplicable_reason(exc)
    else:
        savepoint.commit()
        return True
    _roll_back(savepoint)
    log.warning(
        "inbound message from %s kept but not applied: %s",
        mask_phone(event.inbound.from_phone),
        reason,
    )
    mark_inapplicable(connection, event.dedupe_key, reason)
    return False


def _roll_back(savepoint: NestedTransaction) -> None:
    if savepoint.is_active:  # a failed flush of the hook's session rolls it back itself
        savepoint.rollback()


def is_database_trouble(exc: Exception) -> bool:
    """A lost connection, a deadlock, a busy lock: the database's trouble, not the event's."""
    return isinstance(exc, OperationalError | InterfaceError)


def inapplicable_reason(exc: Exception) -> str:
    if isinstance(exc, InapplicableEvent):
        return str(exc)
    # Other messages may quote the number or the text: the type is enough to look further.
    return f"applying it failed ({type(exc).__name__})"


def mark_inapplicable(connection: Connection, dedupe_key: str, reason: str) -> None:
    """Never to be retried, with the reason for an operator; counts as processed."""
    table = _table(WebhookEvent)
    connection.execute(
        update(table)
        .where(table.c.dedupe_key == dedupe_key)
        .values(
            inapplicable=reason[:INAPPLICABLE_REASON_LENGTH],
            processed_at=func.coalesce(table.c.processed_at, utcnow()),
        )
    )


def _claim_nonces(connection: Connection, events: Sequence[IncomingEvent]) -> list[Outcome]:
    nonces = [e.nonce for e in events if e.nonce]
    if not nonces:
        return [Outcome.STORED] * len(events)
    now = utcnow()
    fresh = _insert_new(
        connection,
        _table(WebhookNonce),
        "nonce",
        [{"nonce": n, "seen_at": now} for n in dict.fromkeys(nonces)],
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


def _insert_new(
    connection: Connection, table: Table, key: str, rows: list[dict[str, Any]]
) -> set[str]:
    """Insert the rows whose `key` is not stored yet; returns the keys inserted.

    PostgreSQL: INSERT .. ON CONFLICT DO NOTHING RETURNING, safe with concurrent writers.
    SQLite: this transaction holds the write lock, so the keys a SELECT finds stored stay
    exactly those until the INSERT.
    """
    if not rows:
        return set()
    if connection.dialect.name != "sqlite":
        statement = _insert_returning_statement(table, key)
        return set(connection.execute(statement, rows).scalars())
    keys = json.dumps([row[key] for row in rows])
    stored = {
        k for (k,) in execute_on_sqlite(connection, _stored_keys_statement(table, key), keys=keys)
    }
    new: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row[key] not in stored:
            new.setdefault(row[key], row)  # the first of repeats inside the group
    if new:
        columns = tuple(rows[0])
        statement = _insert_from_json_statement(table, columns)
        execute_on_sqlite(connection, statement, rows=rows_as_json(table, columns, new.values()))
    return set(new)


def _resolve_batches(
    connection: Connection, reports: Iterable[StatusReport], known: KnownBatches | None = None
) -> _Resolution:
    resolution = _Resolution()
    refs: set[str] = set()
    provider_ids: set[str] = set()
    for report in reports:
        if report.batch_ref:
            campaign_id = known.campaign_of(report.batch_ref) if known else None
            if campaign_id is not None:
                resolution.add(report.batch_ref, campaign_id, None)
            else:
                refs.add(report.batch_ref)
        if report.provider_batch_id:
            found = known.by_provider_id(report.provider_batch_id) if known else None
            campaign_id = known.campaign_of(found) if known and found else None
            if found is not None and campaign_id is not None:
                resolution.add(found, campaign_id, report.provider_batch_id)
            else:
                provider_ids.add(report.provider_batch_id)
    if not refs and not provider_ids:
        return resolution
    rows = connection.execute(
        select(Batch.id, Batch.campaign_id, Batch.provider_batch_id).where(
            or_(Batch.id.in_(refs), Batch.provider_batch_id.in_(provider_ids))
        )
    ).all()
    for batch_id, campaign_id, provider_id in rows:
        resolution.add(batch_id, campaign_id, provider_id)
        if known is not None:
            known.add(batch_id, campaign_id, provider_id)
    return resolution


def _applicable(event: IncomingEvent, resolution: _Resolution) -> bool:
    """Inbound messages always apply; reports only once their batch is known here."""
    return all(resolution.batch_for(r) is not None for r in event.reports)


def apply_reports(
    connection: Connection,
    reports: Sequence[StatusReport],
    resolution: _Resolution | None = None,
) -> int:
    """Move messages forward by the precedence above; returns how many reports matched a batch."""
    resolution = resolution or _resolve_batches(connection, reports)
    # Per status, in order of first appearance, the first report for each message; every
    # later one finds the message no longer earlier than its status and changes nothing.
    by_status: dict[MessageStatus, dict[tuple[str, str], StatusReport]] = defaultdict(dict)
    matched = 0
    for report in reports:
        batch_id = resolution.batch_for(report)
        if batch_id is None:
            continue
        matched += 1
        if report.status is not None:
            by_status[report.status].setdefault((batch_id, report.phone), report)
    now = utcnow()
    for status, firsts in by_status.items():
        rows = [
            (resolution.campaigns[batch], batch, phone, r.code, r.operator_status_at)
            for (batch, phone), r in firsts.items()
        ]
        if connection.dialect.name == "sqlite":
            columns = ("campaign_id", "batch_id", "phone", "status_code", "operator_status_at")
            reports_json = rows_as_json(_table(Message), columns, rows)
            execute_on_sqlite(
                connection, _advance_from_json_statement(status), now=now, reports=reports_json
            )
        else:
            params = [
                {
                    "b_campaign": campaign,
                    "b_batch": b,
                    "b_phone": p,
                    "b_code": c,
                    "b_at": at,
                    "b_now": now,
                }
                for campaign, b, p, c, at in rows
            ]
            connection.execute(_advance_statement(status), params)
    return matched


# Statements, built once. The Core tables, not the ORM entities: the ORM's bulk paths cost
# several times more on the webhook hot path.


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _earlier_than(status: MessageStatus) -> list[ColumnElement[str]]:
    # Inlined literals (our own enum values): executemany cannot expand an IN list.
    return [literal_column(f"'{s.value}'") for s in MessageStatus if rank(s) < rank(status)]


@functools.cache
def _insert_returning_statement(table: Table, key: str) -> Insert:
    insert = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    return insert.returning(table.c[key])


@functools.cache
def _advance_statement(status: MessageStatus) -> Update:
    """Move one message (by batch and phone) to `status` if it is earlier in the precedence.

    Found through (campaign_id, phone): no index reads `batch_id` (see `models.Message`).
    """
    table = _table(Message)
    return (
        update(table)
        .where(
            table.c.campaign_id == bindparam("b_campaign"),
            table.c.phone == bindparam("b_phone"),
            table.c.batch_id == bindparam("b_batch"),
            table.c.status.in_(_earlier_than(status)),
        )
        .values(
            status=status.value,
            status_code=bindparam("b_code"),
            operator_status_at=bindparam("b_at"),
            updated_at=bindparam("b_now"),
        )
    )


# SQLite's statements read their rows from one JSON array parameter (see `db.json_array`)
# and run on the sqlite3 cursor itself (`db.execute_on_sqlite`): one statement and one step
# per table and group, rather than a step and SQLAlchemy's processing per row.


@functools.cache
def _stored_keys_statement(table: Table, key: str) -> Select[tuple[str]]:
    keys = json_array("keys")
    return select(table.c[key]).where(table.c[key].in_(select(keys.c.value)))


@functools.cache
def _insert_from_json_statement(table: Table, columns: tuple[str, ...]) -> Insert:
    rows = json_array("rows")
    values = select(*(json_item(rows, i) for i in range(len(columns))))
    return insert(table).from_select(list(columns), values)


@functools.cache
def _advance_from_json_statement(status: MessageStatus) -> Update:
    """`_advance_statement` for many messages, from `[campaign, batch, phone, code, at]` rows."""
    table = _table(Message)
    reports = json_array("reports")
    return (
        update(table)
        .where(
            table.c.campaign_id == json_item(reports, 0),
            table.c.phone == json_item(reports, 2),
            table.c.batch_id == json_item(reports, 1),
            table.c.status.in_(_earlier_than(status)),
        )
        .values(
            status=literal_column(f"'{status.value}'"),
            status_code=json_item(reports, 3),
            operator_status_at=json_item(reports, 4),
            updated_at=bindparam("now", type_=table.c.updated_at.type),
        )
    )


def store_inbound(connection: Connection, sms: InboundSms) -> None:
    """The message as received; contact and campaign are linked by the inbound hook."""
    rows = [
        {
            "provider_id": sms.provider_id,
            "from_phone": sms.from_phone,
            "to": sms.to,
            "body": sms.body,
            "received_at": sms.received_at,
            "created_at": utcnow(),
        }
    ]
    _insert_new(connection, cast(Table, InboundMessage.__table__), "provider_id", rows)


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
    connection = session.connection()
    resolution = _resolve_batches(connection, parsed.reports)
    stored = session.get_one(WebhookEvent, event.id)
    stored.attempts += 1
    if not _applicable(parsed, resolution):
        if stored.attempts >= MAX_EVENT_ATTEMPTS:
            # Done with, as `mark_inapplicable` does: out of the unprocessed index, which every
            # sweep would otherwise read past.
            stored.inapplicable = f"its batch was still unknown after {MAX_EVENT_ATTEMPTS} attempts"
            stored.processed_at = utcnow()
        return False
    apply_reports(connection, parsed.reports, resolution)
    stored.processed_at = utcnow()
    return True


def forget_nonces(session: Session, older_than: datetime) -> None:
    """Nonces only need remembering while their timestamp would still be accepted."""
    session.execute(delete(WebhookNonce).where(WebhookNonce.seen_at < older_than))
