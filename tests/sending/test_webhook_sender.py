"""The webhook sender against endpoints on real ports: signed deliveries, retries under the
same webhook-id, endpoints refused or disabled, and a sender dying mid-attempt."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from tests.sending.stack import sending_stack
from tests.sending.webhook_receivers import (
    Receiver,
    receiving,
    record,
    sender_config,
    sending,
    subscribe,
    until,
)
from tests.servers import free_port

from textcast import __version__
from textcast.db import Database
from textcast.models import (
    AuditEntry,
    DeliveryStatus,
    OutboundEvent,
    SubscriptionStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from textcast.sending.webhook_sender import WebhookSender
from textcast.simulator import SimulatorConfig


def deliveries(database: Database) -> list[WebhookDelivery]:
    with database.read() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def attempts(database: Database, delivery_id: int) -> list[WebhookAttempt]:
    with database.read() as session:
        return list(
            session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.id)
            )
        )


def subscription(database: Database, subscription_id: int) -> WebhookSubscription:
    with database.read() as session:
        return session.get_one(WebhookSubscription, subscription_id)


def all_final(database: Database) -> bool:
    found = deliveries(database)
    return bool(found) and all(d.status != DeliveryStatus.PENDING for d in found)


def test_a_delivery_is_signed_the_standard_webhooks_way_with_the_events_own_body(
    database: Database, database_url: str
) -> None:
    receiver = Receiver()
    with receiving(receiver) as url:
        _, secret = subscribe(database, f"{url}/hooks/in?token=abc")
        record(database, contact_id=42)
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    with database.read() as session:
        event = session.scalars(select(OutboundEvent)).one()
    [got] = receiver.received
    assert got.path == "/hooks/in"
    assert got.body == event.body.encode()
    assert got.headers["webhook-id"] == event.public_id
    assert Webhook(secret).verify(got.body, got.headers)["data"] == {"contact_id": 42}
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 10
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == f"textcast-webhooks/{__version__}"
    assert got.headers["host"] == url.removeprefix("http://")
    [delivery] = deliveries(database)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1 and delivery.response_status == 204
    assert delivery.delivered_at is not None and delivery.latency_ms is not None


def test_a_failing_endpoint_gets_the_same_event_under_the_same_id_until_it_answers_2xx(
    database: Database, database_url: str
) -> None:
    receiver = Receiver(answers=[500, 500, (503, b"down for maintenance"), (200, b"ok")])
    with receiving(receiver) as url:
        subscription_id, secret = subscribe(database, f"{url}/in")
        record(database)
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    assert len(receiver.received) == 4
    assert len(set(receiver.ids())) == 1
    for got in receiver.received:  # each attempt signed afresh, each verifies
        Webhook(secret).verify(got.body, got.headers)
    [delivery] = deliveries(database)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 4 and delivery.error is None
    logged = attempts(database, delivery.id)
    assert [a.response_status for a in logged] == [500, 500, 503, 200]
    assert logged[2].response_excerpt == "down for maintenance"
    assert logged[2].error == "HTTP 503: the endpoint failed"
    assert logged[3].response_excerpt == "ok"
    # The waits grew: about 0.05 s, then six times that, then six times again.
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    assert gaps[2] > gaps[0] * 3
    endpoint = subscription(database, subscription_id)
    assert endpoint.last_success_at is not None and endpoint.failing_since is None


def test_a_refusal_fails_the_delivery_at_once_and_marks_the_endpoint_failing(
    database: Database, database_url: str
) -> None:
    receiver = Receiver(answers=[(410, b"no such hook " * 1000)])
    with receiving(receiver) as url:
        subscription_id, _ = subscribe(database, f"{url}/in")
        record(database)
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    assert len(receiver.received) == 1
    [delivery] = deliveries(database)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1 and delivery.next_attempt_at is None
    assert delivery.error == "HTTP 410: the endpoint refused the event (not retried)"
    assert delivery.response_excerpt is not None and len(delivery.response_excerpt) == 512
    endpoint = subscription(database, subscription_id)
    assert endpoint.failing_since is not None
    assert endpoint.status == SubscriptionStatus.ACTIVE


def test_a_redirect_is_not_followed(database: Database, database_url: str) -> None:
    receiver = Receiver(answers=[301])
    with receiving(receiver) as url:
        subscribe(database, f"{url}/in")
        record(database)
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    [delivery] = deliveries(database)
    assert len(receiver.received) == 1
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error is not None and "redirect" in delivery.error


def test_a_private_address_is_refused_at_send_time_unless_allowed(
    database: Database, database_url: str
) -> None:
    receiver = Receiver()
    with receiving(receiver) as url:
        subscribe(database, f"{url}/in")
        record(database)
        config = sender_config(database_url, webhook_allow_private=False)
        asyncio.run(sending(database, config, lambda: all_final(database), "refused"))
    assert receiver.received == []
    [delivery] = deliveries(database)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert delivery.error is not None and "127.0.0.1" in delivery.error
    assert "private" in delivery.error


def test_an_endpoint_failing_for_the_whole_retry_window_is_disabled_and_audited(
    database: Database, database_url: str
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/in"  # nothing listens there
    subscription_id, _ = subscribe(database, nobody)
    window = 1.5
    config = sender_config(
        database_url, webhook_retry_hours=window / 3600, webhook_first_retry_seconds=0.1
    )

    async def scenario() -> None:
        sender = WebhookSender(database, config)
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.to_thread(record, database)
            await asyncio.sleep(window / 2)
            # Still retrying when the endpoint is disabled: fails with it.
            await asyncio.to_thread(record, database)
            await until(
                lambda: (
                    subscription(database, subscription_id).status == SubscriptionStatus.DISABLED
                ),
                "the endpoint was not disabled",
            )
        finally:
            stop.set()
            await task

    asyncio.run(scenario())
    endpoint = subscription(database, subscription_id)
    assert endpoint.disabled_at is not None
    assert endpoint.disabled_reason is not None
    assert "every delivery failed for 1.5 seconds" in endpoint.disabled_reason
    assert "could not connect" in endpoint.disabled_reason
    first, second = deliveries(database)
    assert first.status == second.status == DeliveryStatus.FAILED
    # Given up at the end of its window, or failed with the endpoint a moment before.
    given_up = (first.error or "").endswith("retried for 1.5 seconds, given up")
    assert given_up or first.error == "subscription disabled"
    assert second.error == "subscription disabled"
    assert first.attempts >= 3  # 0.1 s, then about 0.6 s, then the window's end
    with database.read() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "webhook.auto_disable")
        )
    assert entry.target == f"webhook:{subscription_id}"
    assert entry.detail["reason"] == endpoint.disabled_reason


def test_an_endpoint_that_answers_again_is_no_longer_failing(
    database: Database, database_url: str
) -> None:
    receiver = Receiver(answers=[500])
    with receiving(receiver) as url:
        subscription_id, _ = subscribe(database, f"{url}/in")
        record(database)
        asyncio.run(
            sending(
                database,
                sender_config(database_url),
                lambda: subscription(database, subscription_id).failing_since is not None,
                "the first attempt did not fail",
            )
        )
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    endpoint = subscription(database, subscription_id)
    assert endpoint.failing_since is None and endpoint.last_success_at is not None


SENDER_SCRIPT = """
import asyncio, dataclasses, sys
from datetime import timedelta
from textcast.config import load_settings
from textcast.db import Database
from textcast.runtime import webhook_sender_config
from textcast.sending.webhook_sender import WebhookSender

config = webhook_sender_config(load_settings(database_url=sys.argv[1], webhook_allow_private=True))
config = dataclasses.replace(config, poll_seconds=0.02, lease=timedelta(seconds=1))
asyncio.run(WebhookSender(Database(sys.argv[1]), config).run(asyncio.Event()))
"""


def test_a_sender_killed_mid_attempt_leaves_the_event_to_be_posted_again_under_its_id(
    database: Database, database_url: str
) -> None:
    receiver = Receiver(hold=frozenset({0}))
    with receiving(receiver) as url:
        subscribe(database, f"{url}/in")
        record(database)
        killed = subprocess.Popen(
            [sys.executable, "-c", SENDER_SCRIPT, database_url],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        try:
            deadline = time.monotonic() + 30
            while not receiver.received:
                assert time.monotonic() < deadline, "the first sender posted nothing"
                assert killed.poll() is None, "the first sender died on its own"
                time.sleep(0.02)
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait()
        receiver.release.set()
        [before] = deliveries(database)
        assert before.status == DeliveryStatus.PENDING and before.attempts == 0
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "resent")
        )
    assert len(receiver.received) == 2
    assert receiver.ids()[0] == receiver.ids()[1]
    [delivery] = deliveries(database)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1


def test_a_stopped_sender_gives_back_the_deliveries_it_had_not_posted(
    database: Database, database_url: str
) -> None:
    receiver = Receiver(hold=frozenset({0}))
    config = dataclasses.replace(
        sender_config(database_url, webhook_timeout_seconds=0.5, webhook_concurrency=1),
        lease=timedelta(hours=1),
    )
    with receiving(receiver) as url:
        subscribe(database, f"{url}/in")
        for n in range(3):
            record(database, contact_id=n)
        asyncio.run(
            sending(database, config, lambda: bool(receiver.received), "the first was not sent")
        )
        receiver.release.set()
        # Within the hour the lease would have lasted: the stop gave them back.
        asyncio.run(sending(database, config, lambda: all_final(database), "not resent"))
    found = deliveries(database)
    assert [d.status for d in found] == [DeliveryStatus.DELIVERED] * 3
    assert len(receiver.received) == 4  # the one cut off is posted again, under its id
    assert sorted(receiver.ids()).count(receiver.ids()[0]) == 2


def test_an_idle_sender_takes_no_write_transaction(database: Database, database_url: str) -> None:
    subscribe(database, "http://127.0.0.1:9/in")

    async def idle() -> WebhookSender:
        sender = WebhookSender(database, sender_config(database_url))
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        await asyncio.sleep(0.5)
        stop.set()
        await task
        return sender

    assert asyncio.run(idle()).totals.rounds == 0


def test_logs_hold_no_body_query_string_or_secret(
    database: Database, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(answers=[500, 404])
    caplog.set_level(logging.DEBUG, logger="textcast")
    with receiving(receiver) as url:
        _, secret = subscribe(database, f"{url}/in?token=query-canary-93f1")
        record(database, note="body-canary-71ac")
        asyncio.run(
            sending(database, sender_config(database_url), lambda: all_final(database), "sent")
        )
    assert len(receiver.received) == 2
    assert "webhook" in caplog.text  # something was logged about the attempts
    for canary in ("query-canary-93f1", "body-canary-71ac", secret, secret[6:]):
        assert canary not in caplog.text


def test_textcast_serve_posts_the_events_its_database_records(database_url: str) -> None:
    receiver = Receiver()
    with (
        receiving(receiver) as url,
        sending_stack(database_url, SimulatorConfig(), webhook_allow_private=True),
    ):
        database = Database(database_url)
        try:
            _, secret = subscribe(database, f"{url}/in")
            record(database, contact_id=7)
            deadline = time.monotonic() + 10
            while not receiver.received:
                assert time.monotonic() < deadline, "serve's sender posted nothing"
                time.sleep(0.02)
        finally:
            database.dispose()
    Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
