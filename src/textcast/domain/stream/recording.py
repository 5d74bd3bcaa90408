"""Writing events into the stream (`outbound_events`) and their deliveries, in the caller's
transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Insert,
    Integer,
    String,
    Table,
    bindparam,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session
from ulid import ULID

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
    return json.dumps(
        {"type": str(type_), "timestamp": timestamp(at), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def new_public_id() -> str:
    """The event's `webhook-id`: the same on every attempt and every replay of it."""
    return f"msg_{ULID()}"


def subscribers(executor: Session | Connection, type_: EventType) -> list[int]:
    """The active subscriptions that want `type_`."""
    return [id_ for id_, types in _active(executor) if ALL_TYPES in types or type_ in types]


def wanted(executor: Session | Connection, *types: EventType) -> bool:
    """Whether any active subscription wants one of `types`: a hot path asks this before
    reading what an event would say."""
    return any(
        ALL_TYPES in wants or any(t in wants for t in types) for _, wants in _active(executor)
    )


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
    rows = [
        (id_, list(types or ()))
        for id_, types in connection.execute(
            select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.event_types).where(
                SUBSCRIPTIONS.c.status == SubscriptionStatus.ACTIVE
            )
        )
    ]
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
    rows = [
        {
            "public_id": new_public_id(),
            "type": str(type_),
            "body": envelope(type_, data, moment),
            "created_at": moment,
        }
        for data in items
    ]
    if not rows:
        return 0
    # No RETURNING: on SQLite, ids returned in the rows' order cost one INSERT per event (a
    # group commit's hundreds). The events go in as one executemany, and their deliveries
    # follow from them by their public ids, one INSERT .. SELECT per slice.
    executor.execute(insert(EVENTS), rows)
    public_ids = [row["public_id"] for row in rows]
    for start in range(0, len(public_ids), _SLICE):
        executor.execute(
            _deliveries_statement(),
            {
                "targets": targets,
                "public_ids": public_ids[start : start + _SLICE],
                "moment": moment,
            },
        )
    return len(rows) * len(targets)


_SLICE = 2_000
"""Public ids per INSERT .. SELECT of deliveries: well within every engine's parameters."""


@functools.cache
def _deliveries_statement() -> Insert:
    """A pending delivery per (subscription of `targets`, event of `public_ids`)."""
    moment = bindparam("moment", type_=DELIVERIES.c.created_at.type)
    chosen = (
        select(
            SUBSCRIPTIONS.c.id,
            EVENTS.c.id,
            literal(DeliveryStatus.PENDING.value, String()),
            literal(0, Integer()),
            moment,
            moment,
        )
        .select_from(SUBSCRIPTIONS)
        .join(EVENTS, true())  # every chosen subscription with every chosen event
        .where(
            SUBSCRIPTIONS.c.id.in_(bindparam("targets", expanding=True)),
            EVENTS.c.public_id.in_(bindparam("public_ids", expanding=True)),
        )
    )
    return insert(DELIVERIES).from_select(
        ["subscription_id", "event_id", "status", "attempts", "next_attempt_at", "created_at"],
        chosen,
    )
