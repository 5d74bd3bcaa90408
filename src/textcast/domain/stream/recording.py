"""Writing events into the stream (`outbound_events`) and their deliveries, in the caller's
transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select
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
    """The active subscriptions that want `type_` (a tiny table: read in every transaction
    that records, so a subscription made a moment ago hears the next event)."""
    rows = executor.execute(
        select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.event_types).where(
            SUBSCRIPTIONS.c.status == SubscriptionStatus.ACTIVE
        )
    ).all()
    return [id_ for id_, types in rows if ALL_TYPES in types or type_ in types]


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
    event_ids = executor.execute(
        insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    deliveries = [
        {
            "subscription_id": subscription_id,
            "event_id": event_id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": moment,
            "created_at": moment,
        }
        for event_id in event_ids
        for subscription_id in targets
    ]
    executor.execute(insert(DELIVERIES), deliveries)
    return len(deliveries)
