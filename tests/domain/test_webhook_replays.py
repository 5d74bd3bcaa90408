"""Replaying a subscription's events since a moment: capped, oldest first, the rest one more
replay away, nothing queued twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks import replays
from textcast.domain.webhooks.signatures import new_secret
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)


def test_a_capped_replay_says_from_when_to_replay_the_rest(database: Database) -> None:
    start = utcnow() - timedelta(hours=1)
    with database.write() as session:
        subscription = WebhookSubscription(
            url="https://93.184.215.14/in", event_types=["*"], secret=new_secret()
        )
        session.add(subscription)
        session.flush()
        for minute in range(5):
            at = start + timedelta(minutes=minute)
            stream.record(session, EventType.MESSAGE_SENT, {"n": minute}, at=at)
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.DELIVERED))
    with database.write() as session:
        first = replays.replay_since(session, subscription.id, start, most=3)
    assert (first.count, first.capped, first.through) == (3, True, start + timedelta(minutes=2))
    assert "replay since" in replays.describe(first)
    with database.write() as session:
        rest = replays.replay_since(session, subscription.id, first.through, most=3)
    assert (rest.count, rest.capped) == (2, False)
    with database.read() as session:
        pending = session.execute(
            select(OutboundEvent.body)
            .join(WebhookDelivery, WebhookDelivery.event_id == OutboundEvent.id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            .order_by(OutboundEvent.id)
        ).scalars()
        assert [body.split('"n":')[1][0] for body in pending] == ["0", "1", "2", "3", "4"]
