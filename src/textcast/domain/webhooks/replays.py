"""Sending again: a test event to one subscription, one delivery replayed, or every event a
subscription wants since a moment.

A replay is a new pending delivery of the same event (the same `webhook-id` and body), so a
receiver that already has it can tell; the delivery engine takes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from textcast.domain import stream
from textcast.domain.errors import Conflict, NotFound
from textcast.domain.webhooks.subscriptions import get_subscription, wanted_types
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    SubscriptionStatus,
    UTCDateTime,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from textcast.wording import plural

EVENTS = cast(Table, OutboundEvent.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)

MAX_REPLAY = 10_000
"""Deliveries one "replay since" queues at most: the oldest first; the rest is one more
replay away (since `ReplayedSince.through`)."""
TEST_MESSAGE = "A test event from textcast."


@dataclass(frozen=True, slots=True)
class ReplayedSince:
    count: int
    """Deliveries queued."""
    capped: bool
    """More events matched than MAX_REPLAY: replay again since `through` for the rest."""
    through: datetime | None
    """When the last event queued happened (None: none was)."""


def _active(session: Session, subscription_id: int, doing: str) -> WebhookSubscription:
    subscription = get_subscription(session, subscription_id)
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise Conflict(
            f"webhook subscription {subscription_id} is disabled: enable it before you {doing}"
        )
    return subscription


def send_test_event(session: Session, subscription_id: int) -> WebhookDelivery:
    """A `webhook.test` event for this subscription alone, and its pending delivery."""
    _active(session, subscription_id, "send it a test event")
    data = {"subscription_id": subscription_id, "message": TEST_MESSAGE}
    stream.record_many(session, EventType.WEBHOOK_TEST, [data], only_to=[subscription_id])
    made = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    ).one()
    return made


def replay_delivery(session: Session, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """A new pending delivery of that delivery's event to the same subscription."""
    _active(session, subscription_id, "replay a delivery")
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.subscription_id != subscription_id:
        raise NotFound("delivery", delivery_id)
    if session.get(OutboundEvent, original.event_id) is None:
        raise NotFound("event", original.event_id)
    waiting = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.event_id == original.event_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(f"this event is already waiting to be sent again (delivery {waiting})")
    now = utcnow()
    replay = WebhookDelivery(
        subscription_id=subscription_id,
        event_id=original.event_id,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(replay)
    session.flush()
    return replay


def replay_since(
    session: Session, subscription_id: int, since: datetime, *, most: int = MAX_REPLAY
) -> ReplayedSince:
    """A new pending delivery of every event of the types the subscription wants, made at
    or after `since`, oldest first, at most `most`, in one INSERT ... SELECT. Events
    already waiting for this subscription are not queued twice; test events never are."""
    subscription = _active(session, subscription_id, "replay its events")
    matching = and_(
        EVENTS.c.created_at >= since,
        EVENTS.c.type.in_(wanted_types(subscription)),
        ~exists().where(
            DELIVERIES.c.subscription_id == subscription_id,
            DELIVERIES.c.event_id == EVENTS.c.id,
            DELIVERIES.c.status == DeliveryStatus.PENDING,
        ),
    )
    # The `most`-th match and the one after it, if any: the cap's boundary.
    edge = session.execute(
        select(EVENTS.c.id, EVENTS.c.created_at)
        .where(matching)
        .order_by(EVENTS.c.id)
        .offset(most - 1)
        .limit(2)
    ).all()
    capped = len(edge) == 2
    if edge:
        matching = and_(matching, EVENTS.c.id <= edge[0].id)
    through = edge[0].created_at if capped else None
    if through is None:
        through = session.scalar(select(func.max(EVENTS.c.created_at)).where(matching))
    now = utcnow()
    columns = ["subscription_id", "event_id", "status", "attempts", "next_attempt_at", "created_at"]
    rows = select(
        literal(subscription_id),
        EVENTS.c.id,
        literal(str(DeliveryStatus.PENDING)),
        literal(0),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(matching)
    # RETURNING counts on both engines (psycopg's rowcount of an INSERT ... SELECT is -1).
    inserted = session.execute(
        insert(DELIVERIES).from_select(columns, rows).returning(DELIVERIES.c.id)
    )
    count = len(inserted.all())
    return ReplayedSince(count, capped, through if count else None)


def describe(replayed: ReplayedSince) -> str:
    """What a replay since a moment did, in the words the API and the command line answer."""
    if not replayed.count:
        return "No event to replay: none of the types it wants was made since then."
    said = f"{plural(replayed.count, 'event')} queued to be sent again"
    if replayed.capped and replayed.through is not None:
        said += (
            "; more matched than one replay queues: replay since "
            f"{replayed.through.isoformat()} for the rest"
        )
    return said + "."
