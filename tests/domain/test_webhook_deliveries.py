"""Deliveries of the event stream: claims under a lease, the outcome of each answer, backoff,
giving up, and forgetting the old log."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from tests.sending.webhook_receivers import record, subscribe

from textcast.db import Database
from textcast.domain.webhooks import deliveries
from textcast.domain.webhooks.deliveries import Attempt, Claimed, RetryPolicy
from textcast.models import (
    DeliveryStatus,
    OutboundEvent,
    SubscriptionStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

POLICY = RetryPolicy(first_retry=timedelta(seconds=5), window=timedelta(hours=72))
LEASE = timedelta(minutes=2)


def later(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def claim(database: Database, now: datetime, limit: int = 100) -> list[Claimed]:
    with database.write() as session:
        return deliveries.claim_due(session, now, limit, now + LEASE)


def outcome(database: Database, attempt: Attempt, now: datetime) -> WebhookDelivery:
    with database.write() as session:
        deliveries.record_attempts(session, [attempt], POLICY, now, random.Random(1))
    with database.read() as session:
        return session.get_one(WebhookDelivery, attempt.delivery.id)


def test_the_backoff_grows_about_six_times_each_time_up_to_twelve_hours() -> None:
    rng = random.Random(7)
    delays = [POLICY.delay(n, rng).total_seconds() for n in range(1, 12)]
    nominal = [5 * 6 ** (n - 1) for n in range(1, 12)]
    for delay, expected in zip(delays, nominal, strict=True):
        assert min(expected * 0.8, 12 * 3600) <= delay <= min(expected * 1.2, 12 * 3600)
    assert delays[-1] == 12 * 3600
    spread = {POLICY.delay(1, rng) for _ in range(20)}
    assert len(spread) > 10  # jittered: a failing endpoint's deliveries come back apart


def test_a_claimed_delivery_is_leased_then_due_again_under_the_same_id(
    database: Database,
) -> None:
    subscribe(database, "https://hooks.example.com/in")
    record(database)
    now = later()
    [first] = claim(database, now)
    assert claim(database, now) == []  # leased: no other sender takes it meanwhile
    with database.read() as session:
        assert deliveries.next_due(session) == now + LEASE
    [again] = claim(database, now + LEASE)
    assert again.id == first.id and again.webhook_id == first.webhook_id
    assert again.body == first.body and again.secret == first.secret


def test_the_claim_skips_what_another_sender_holds(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer: claims never overlap")
    subscribe(database, "https://hooks.example.com/in")
    for _ in range(4):
        record(database)
    now = later()
    with database.write() as holding:
        mine = deliveries.claim_due(holding, now, 2, now + LEASE)
        theirs = claim(database, now)  # while the first claim is not committed
    assert len(mine) == 2 and len(theirs) == 2
    assert not {c.id for c in mine} & {c.id for c in theirs}


def test_the_due_poll_reads_the_partial_index(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL plans a tiny table by its own judgement")
    poll = select(func.min(deliveries.DELIVERIES.c.next_attempt_at)).where(deliveries.IS_PENDING)
    with database.read() as session:
        sql = poll.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
    assert "ix_webhook_deliveries_due" in str(plan)


def test_a_subscription_disabled_meanwhile_fails_its_due_deliveries_unposted(
    database: Database,
) -> None:
    subscription_id, _ = subscribe(database, "https://hooks.example.com/in")
    record(database)
    with database.write() as session:
        session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)
            .values(status=SubscriptionStatus.DISABLED)
        )
    assert claim(database, later()) == []
    with database.read() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "subscription disabled"


def test_a_429_is_retried_when_its_retry_after_says_within_twelve_hours(
    database: Database,
) -> None:
    subscribe(database, "https://hooks.example.com/in")
    record(database)
    record(database)
    now = later()
    first, second = claim(database, now)
    asked = outcome(database, Attempt(first, now, 10, 429, retry_after=120), now)
    assert asked.status == DeliveryStatus.PENDING
    assert asked.next_attempt_at == now + timedelta(seconds=120)
    assert asked.error == "HTTP 429: the endpoint asked to slow down"
    greedy = outcome(database, Attempt(second, now, 10, 429, retry_after=10**7), now)
    assert greedy.next_attempt_at == now + timedelta(hours=12)


def test_a_5xx_or_a_timeout_is_retried_after_the_first_retry_delay(database: Database) -> None:
    subscribe(database, "https://hooks.example.com/in")
    record(database)
    record(database)
    now = later()
    failing, silent = claim(database, now)
    answered = outcome(database, Attempt(failing, now, 10, 502), now)
    timed_out = outcome(database, Attempt(silent, now, 5000, error="no answer in time"), now)
    for delivery in (answered, timed_out):
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert delivery.next_attempt_at is not None
        assert 4 <= (delivery.next_attempt_at - now).total_seconds() <= 6
    assert timed_out.error == "no answer in time"


def test_a_delivery_failing_past_the_retry_window_is_given_up(database: Database) -> None:
    subscribe(database, "https://hooks.example.com/in")
    record(database)
    now = later()
    [claimed] = claim(database, now)
    late = claimed.created_at + POLICY.window
    # The last retry is at the window's end, not past it.
    nearly = outcome(database, Attempt(claimed, late - timedelta(seconds=2), 5, 500), now)
    assert nearly.next_attempt_at == late
    [claimed] = claim(database, late)
    given_up = outcome(database, Attempt(claimed, late, 5, 500), late)
    assert given_up.status == DeliveryStatus.FAILED and given_up.next_attempt_at is None
    assert given_up.error == "HTTP 500: the endpoint failed; retried for 72 hours, given up"


def test_old_finished_deliveries_their_attempts_and_events_are_forgotten(
    database: Database,
) -> None:
    subscribe(database, "https://hooks.example.com/in")
    for _ in range(3):
        record(database)
    now = later()
    delivered, failed, pending = claim(database, now)
    with database.write() as session:
        deliveries.record_attempts(
            session,
            [Attempt(delivered, now, 5, 204), Attempt(failed, now, 5, 404)],
            POLICY,
            now,
        )
    record(database)  # recent: kept
    with database.read() as session:
        assert deliveries.purgeable(session, now) is None
    long_ago = now - deliveries.KEEP - timedelta(days=1)
    with database.write() as session:
        # The first three events and their deliveries, as if made over a month ago.
        for model in (OutboundEvent, WebhookDelivery):
            session.execute(update(model).where(model.id <= 3).values(created_at=long_ago))
    with database.read() as session:
        assert deliveries.purgeable(session, now) is not None
    with database.write() as session:
        gone = deliveries.purge(session, now)
    assert gone == 4  # two deliveries, their two events
    with database.read() as session:
        left = session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()
        events = session.scalars(select(OutboundEvent.id).order_by(OutboundEvent.id)).all()
        logged = session.scalars(select(WebhookAttempt)).all()
    assert list(left) == [pending.id, 4]
    assert list(events) == [3, 4]
    assert logged == []


def test_the_retry_window_reads_as_words() -> None:
    assert deliveries.duration(timedelta(hours=72)) == "72 hours"
    assert deliveries.duration(timedelta(minutes=90)) == "90 minutes"
    assert deliveries.duration(timedelta(seconds=1.5)) == "1.5 seconds"
