import json

from sqlalchemy import select

from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks import signatures
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)


def subscribe(database: Database, *types: str, status: str = SubscriptionStatus.ACTIVE) -> int:
    with database.write() as session:
        subscription = WebhookSubscription(
            url="https://hooks.example.com/in",
            event_types=list(types),
            secret=signatures.new_secret(),
            status=status,
        )
        session.add(subscription)
        session.flush()
        return subscription.id


def test_records_nothing_when_no_subscription_wants_the_type(database: Database) -> None:
    subscribe(database, EventType.MESSAGE_SENT)
    subscribe(database, "*", status=SubscriptionStatus.DISABLED)
    with database.write() as session:
        made = stream.record(session, EventType.CONTACT_SUBSCRIBED, {"contact_id": 1})
    assert made == 0
    with database.read() as session:
        assert session.scalars(select(OutboundEvent)).all() == []


def test_records_each_event_with_a_delivery_per_wanting_subscription(database: Database) -> None:
    everything = subscribe(database, "*")
    replies = subscribe(database, EventType.REPLY_RECEIVED)
    subscribe(database, EventType.MESSAGE_SENT)
    with database.write() as session:
        made = stream.record_many(
            session, EventType.REPLY_RECEIVED, [{"inbound_id": 1}, {"inbound_id": 2}]
        )
    assert made == 4
    with database.read() as session:
        events = session.scalars(select(OutboundEvent).order_by(OutboundEvent.id)).all()
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert [json.loads(e.body)["data"] for e in events] == [{"inbound_id": 1}, {"inbound_id": 2}]
    assert {json.loads(e.body)["type"] for e in events} == {"reply.received"}
    assert all(e.public_id.startswith("msg_") for e in events)
    assert sorted((d.event_id, d.subscription_id) for d in deliveries) == sorted(
        (e.id, s) for e in events for s in (everything, replies)
    )
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}


def test_a_rolled_back_change_leaves_no_event(database: Database) -> None:
    subscribe(database, "*")

    class Undone(Exception):
        pass

    try:
        with database.write() as session:
            stream.record(session, EventType.CONTACT_UNSUBSCRIBED, {"contact_id": 7})
            raise Undone
    except Undone:
        pass
    with database.read() as session:
        assert session.scalars(select(OutboundEvent)).all() == []
        assert session.scalars(select(WebhookDelivery)).all() == []


def test_every_catalogued_example_has_exactly_its_fields() -> None:
    assert set(stream.CATALOGUE) == set(EventType)
    for spec in stream.CATALOGUE.values():
        assert set(spec.example) == set(spec.fields)


def test_a_test_event_reaches_no_one_it_was_not_sent_to(database: Database) -> None:
    everything = subscribe(database, "*")
    other = subscribe(database, "*")
    with database.write() as session:
        assert stream.record(session, EventType.WEBHOOK_TEST, {"subscription_id": 0}) == 0
        made = stream.record_many(
            session, EventType.WEBHOOK_TEST, [{"subscription_id": everything}], only_to=[everything]
        )
    assert made == 1
    with database.read() as session:
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert [d.subscription_id for d in deliveries] == [everything]
    assert other not in [d.subscription_id for d in deliveries]
