"""The webhook inbox: store every callback once, then apply it (its delivery reports through
`statuses`, its inbound message through the inbound hook); replayed nonces are refused, and
reports whose batch is not known yet are retried later.

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
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Insert,
    NestedTransaction,
    Select,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from textcast.db import execute_on_sqlite, json_array, json_item, rows_as_json
from textcast.domain.inbox.events import InboundSms, IncomingEvent, Outcome
from textcast.domain.inbox.statuses import KnownBatches, Resolution, apply_reports, resolve_batches
from textcast.domain.phones.numbers import mask_phone
from textcast.models import InboundMessage, WebhookEvent, WebhookNonce, utcnow

INAPPLICABLE_REASON_LENGTH = 200

log = logging.getLogger("textcast.webhooks")


class InapplicableEvent(Exception):
    """An event that can never be applied, whenever it is tried: the message says why, in
    words for an operator, without the event's number or text."""


InboundHook = Callable[[Connection, InboundSms], None]


def store_events(
    connection: Connection,
    events: Sequence[IncomingEvent],
    known: KnownBatches | None = None,
    on_inbound: InboundHook | None = None,
    invalid_after: int = 0,
) -> list[Outcome]:
    """Store a group of callbacks in one transaction; returns what happened to each.

    `invalid_after` is INVALID_AFTER_FAILURES, for list hygiene (`statuses.apply_reports`).

    `on_inbound` acts on each new inbound message in the same transaction (keywords, replies),
    so a STOP is applied before Sinch hears "200". On SQLite the transaction must hold the
    write lock from its start (`Database.write*`).
    """
    outcomes = _claim_nonces(connection, events)
    fresh = [
        event for event, outcome in zip(events, outcomes, strict=True) if outcome is Outcome.STORED
    ]
    resolution = resolve_batches(connection, (r for e in fresh for r in e.reports), known)
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
    reports = [r for e in new_events.values() for r in e.reports]
    apply_reports(connection, reports, resolution, invalid_after)
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


def _applicable(event: IncomingEvent, resolution: Resolution) -> bool:
    """Inbound messages always apply; reports only once their batch is known here."""
    return all(resolution.batch_for(r) is not None for r in event.reports)


# Statements, built once. The Core tables, not the ORM entities: the ORM's bulk paths cost
# several times more on the webhook hot path.


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


@functools.cache
def _insert_returning_statement(table: Table, key: str) -> Insert:
    insert = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    return insert.returning(table.c[key])


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


def retry_event(
    session: Session, event: WebhookEvent, parsed: IncomingEvent, invalid_after: int = 0
) -> bool:
    """Apply a stored event whose batch was unknown when it arrived; True once applied."""
    connection = session.connection()
    resolution = resolve_batches(connection, parsed.reports)
    stored = session.get_one(WebhookEvent, event.id)
    stored.attempts += 1
    if not _applicable(parsed, resolution):
        if stored.attempts >= MAX_EVENT_ATTEMPTS:
            # Done with, as `mark_inapplicable` does: out of the unprocessed index, which every
            # sweep would otherwise read past.
            stored.inapplicable = f"its batch was still unknown after {MAX_EVENT_ATTEMPTS} attempts"
            stored.processed_at = utcnow()
        return False
    apply_reports(connection, parsed.reports, resolution, invalid_after)
    stored.processed_at = utcnow()
    return True


def forget_nonces(session: Session, older_than: datetime) -> None:
    """Nonces only need remembering while their timestamp would still be accepted."""
    session.execute(delete(WebhookNonce).where(WebhookNonce.seen_at < older_than))
