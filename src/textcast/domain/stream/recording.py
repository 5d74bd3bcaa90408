"""Writing events into the stream (`outbound_events`) and their deliveries, in the caller's
transaction."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    insert,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.db import execute_on_sqlite, json_array, json_item, rows_as_json
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

EVENTS = cast(Table, OutboundEvent.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)
SUBSCRIPTIONS = cast(Table, WebhookSubscription.__table__)

ALL_TYPES = "*"
"""A subscription's `event_types` entry that stands for every type."""


def timestamp(moment: datetime) -> str:
    """An instant as the stream writes it: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def envelope(type_: EventType, data: Mapping[str, Any], at: datetime) -> str:
    """The body every delivery of the event posts: `{"type", "timestamp", "data"}`, the
    Standard Webhooks payload structure."""
    return _ENCODER.encode({"type": str(type_), "timestamp": timestamp(at), "data": data})


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


@functools.cache
def _active_statement() -> Select[Any]:
    return select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.event_types).where(
        SUBSCRIPTIONS.c.status == literal_column(f"'{SubscriptionStatus.ACTIVE.value}'")
    )


def new_public_id() -> str:
    """The event's `webhook-id`: the same on every attempt and every replay of it."""
    return f"msg_{ULID()}"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHIFTS = range(125, -1, -5)


def _new_public_ids(count: int, moment: datetime) -> list[str]:
    """`count` ids as `new_public_id` makes them (ULIDs of `moment`), at a fraction of the
    cost of one ULID object each: a group commit's hundreds of events take them at once."""
    prefix = int(moment.timestamp() * 1000) << 80
    randomness = os.urandom(10 * count)
    return [
        "msg_"
        + "".join(
            _CROCKFORD[value >> shift & 31]
            for value in (prefix | int.from_bytes(randomness[10 * i : 10 * i + 10]),)
            for shift in _SHIFTS
        )
        for i in range(count)
    ]


def subscribers(executor: Session | Connection, type_: EventType) -> list[int]:
    """The active subscriptions that want `type_`."""
    return [id_ for id_, types in _active(executor) if _wants(types, type_)]


def wanted(executor: Session | Connection, *types: EventType) -> bool:
    """Whether any active subscription wants one of `types`: a hot path asks this before
    reading what an event would say."""
    return any(_wants(wants, t) for _, wants in _active(executor) for t in types)


def _wants(wants: list[str], type_: EventType) -> bool:
    """`*` is every type a change can cause; a test event goes only where it is sent
    (`only_to`), never to everyone who wants everything."""
    if type_ is EventType.WEBHOOK_TEST:
        return False
    return ALL_TYPES in wants or type_ in wants


_ACTIVE = "textcast.stream.active"


def _active(executor: Session | Connection) -> list[tuple[int, list[str]]]:
    """The active subscriptions and the types each wants: a tiny table, read once per
    transaction (the first event it records or asks about), so a subscription made a moment
    ago hears the next transaction's events, and a group commit of a thousand delivery
    reports reads it once."""
    connection = executor.connection() if isinstance(executor, Session) else executor
    transaction = connection.get_transaction()
    remembered = connection.info.get(_ACTIVE)
    if remembered is not None and transaction is not None and remembered[0] is transaction:
        return cast(list[tuple[int, list[str]]], remembered[1])
    if connection.dialect.name == "sqlite" and transaction is not None:
        # On the sqlite3 cursor, with the statement built once: SQLAlchemy's execution would
        # cost more than the query, once per group commit of delivery reports.
        rows = [
            (id_, json.loads(types) if types else [])
            for id_, types in execute_on_sqlite(connection, _active_statement())
        ]
    else:
        rows = [(id_, list(types or ())) for id_, types in connection.execute(_active_statement())]
    if transaction is not None:
        connection.info[_ACTIVE] = (transaction, rows)
    return rows


def record(
    executor: Session | Connection,
    type_: EventType,
    data: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> int:
    """Record one event in the caller's transaction; how many deliveries it will make."""
    return record_many(executor, type_, [data], at=at)


def record_many(
    executor: Session | Connection,
    type_: EventType,
    items: Iterable[Mapping[str, Any]],
    *,
    at: datetime | None = None,
    only_to: Sequence[int] | None = None,
) -> int:
    """Record one event per item of `items` (each the event's `data`) in the caller's
    transaction, with a pending delivery per wanting subscription (or per subscription of
    `only_to`, a test event's). How many deliveries they will make; 0 when nobody listens,
    and then nothing is written."""
    targets = list(only_to) if only_to is not None else subscribers(executor, type_)
    if not targets:
        return 0
    moment = at or utcnow()
    datas = list(items)
    if not datas:
        return 0
    # What every event of the call shares, worked out once.
    head = {"type": str(type_), "timestamp": timestamp(moment)}
    rows = [
        {
            "public_id": public_id,
            "type": head["type"],
            "body": _ENCODER.encode({**head, "data": data}),
            "created_at": moment,
        }
        for public_id, data in zip(_new_public_ids(len(datas), moment), datas, strict=True)
    ]
    _write(executor, rows, targets, moment)
    return len(rows) * len(targets)


_SLICE = 2_000
"""Public ids per INSERT .. SELECT of deliveries: well within every engine's parameters."""
_EVENT_COLUMNS = ("public_id", "type", "body", "created_at")
_DELIVERY_COLUMNS = [
    "subscription_id",
    "event_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def _write(
    executor: Session | Connection,
    rows: list[dict[str, Any]],
    targets: list[int],
    moment: datetime,
) -> None:
    """The events, then a pending delivery per (target, event), found by the events' public
    ids: no RETURNING, which on SQLite costs one INSERT per event when the ids must come
    back in the rows' order (a group commit's hundreds)."""
    connection = executor.connection() if isinstance(executor, Session) else executor
    public_ids = [row["public_id"] for row in rows]
    if connection.dialect.name == "sqlite":
        # One statement per table from JSON arrays (`db.json_array`), as the webhook inbox
        # writes: SQLAlchemy's processing of each row's parameters costs more than SQLite's
        # own work on the hot path of delivery reports.
        execute_on_sqlite(
            connection,
            _events_from_json_statement(),
            rows=rows_as_json(EVENTS, _EVENT_COLUMNS, rows),
        )
        execute_on_sqlite(
            connection,
            _deliveries_from_json_statement(),
            targets=json.dumps(targets),
            public_ids=json.dumps(public_ids),
            moment=moment,
        )
        return
    connection.execute(insert(EVENTS), rows)
    for start in range(0, len(public_ids), _SLICE):
        connection.execute(
            _deliveries_statement(),
            {
                "targets": targets,
                "public_ids": public_ids[start : start + _SLICE],
                "moment": moment,
            },
        )


def _pending_deliveries(targets: ColumnElement[bool], public_ids: ColumnElement[bool]) -> Insert:
    """A pending delivery per (subscription of `targets`, event of `public_ids`)."""
    moment = bindparam("moment", type_=DELIVERIES.c.created_at.type)
    chosen = (
        select(
            SUBSCRIPTIONS.c.id,
            EVENTS.c.id,
            # Inlined: the statements on SQLite's own cursor bind only named parameters.
            literal_column(f"'{DeliveryStatus.PENDING.value}'", String()),
            literal_column("0", Integer()),
            moment,
            moment,
        )
        .select_from(SUBSCRIPTIONS)
        .join(EVENTS, true())  # every chosen subscription with every chosen event
        .where(targets, public_ids)
    )
    return insert(DELIVERIES).from_select(_DELIVERY_COLUMNS, chosen)


@functools.cache
def _deliveries_statement() -> Insert:
    return _pending_deliveries(
        SUBSCRIPTIONS.c.id.in_(bindparam("targets", expanding=True)),
        EVENTS.c.public_id.in_(bindparam("public_ids", expanding=True)),
    )


@functools.cache
def _deliveries_from_json_statement() -> Insert:
    return _pending_deliveries(
        SUBSCRIPTIONS.c.id.in_(select(json_array("targets").c.value)),
        EVENTS.c.public_id.in_(select(json_array("public_ids").c.value)),
    )


@functools.cache
def _events_from_json_statement() -> Insert:
    rows = json_array("rows")
    values = select(*(json_item(rows, i) for i in range(len(_EVENT_COLUMNS))))
    return insert(EVENTS).from_select(list(_EVENT_COLUMNS), values)
