"""SIGKILL `textcast serve` during a campaign with a webhook subscribed to deliveries: every
`message.delivered` event reaches the receiver at least once, and the copies of one event share
its `webhook-id` (the event is written in the delivery report's transaction, and a delivery
leased by a killed process is posted again under the same id)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook
from tests.factories import numbers
from tests.sending.webhook_receivers import Receiver, receiving, subscribe
from tests.servers import free_port

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Message, MessageStatus
from textcast.simulator import SimulatorConfig, running_simulator

RECIPIENTS = 1_200
KILLS = 2


def _serve(
    database_url: str, simulator_url: str, secret: str, port: int, home: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY_FILE": str(home / "instance-secret"),
        "SINCH_SERVICE_PLAN_ID": "simulated",
        "SINCH_API_TOKEN": "simulated-token",
        "SINCH_BASE_URL": simulator_url,
        "SINCH_WEBHOOK_SECRET": secret,
        "SEND_RATE": "300",
        "BATCH_SIZE": "100",
        "DISPATCHER_POLL_SECONDS": "0.05",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_FIRST_RETRY_SECONDS": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "textcast", "serve", "--log-level", "warning"],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "textcast serve exited"
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError("textcast serve did not start")


def _delivered(database: Database) -> set[int]:
    with database.read() as session:
        return set(
            session.scalars(select(Message.id).where(Message.status == MessageStatus.DELIVERED))
        )


def _final(database: Database) -> int:
    with database.read() as session:
        on_the_way = (
            MessageStatus.QUEUED,
            MessageStatus.DEFERRED,
            MessageStatus.SUBMITTING,
            MessageStatus.ACCEPTED,
            MessageStatus.DISPATCHED,
        )
        return (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.status.not_in(on_the_way))
            )
            or 0
        )


def _announced(receiver: Receiver) -> dict[int, set[str]]:
    """The `webhook-id`s each message's `message.delivered` arrived under."""
    ids: dict[int, set[str]] = defaultdict(set)
    for received in list(receiver.received):
        event = json.loads(received.body)
        if event["type"] == "message.delivered":
            ids[event["data"]["message_id"]].add(received.headers["webhook-id"])
    return ids


def test_killing_serve_during_a_campaign_loses_no_delivered_event(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    callback_secret = secrets.token_urlsafe(24)
    port = free_port()
    simulator = SimulatorConfig(
        webhook_secret=callback_secret, final_delay=0.05, callback_retries=15, seed=17
    )
    receiver = Receiver()
    with running_simulator(simulator) as sim, receiving(receiver) as url:
        _, webhook_secret = subscribe(database, f"{url}/events", "message.delivered")
        draft = campaigns.CampaignDraft("crash", "Winter sale!", numbers(RECIPIENTS))
        with database.write() as session:
            campaign_id = campaigns.create_campaign(session, draft, "US").id
            campaigns.launch_campaign(session, campaign_id)
        public = f"http://127.0.0.1:{port}"
        server = _serve(database_url, sim.base_url, callback_secret, port, tmp_path)
        final_at_kills = []
        try:
            for kill in range(KILLS):
                _wait_until_up(public, server)
                # Kill while reports and events are flowing: after some events arrived.
                target = len(receiver.received) + 100 + 150 * kill
                deadline = time.monotonic() + 60
                while len(receiver.received) < target and time.monotonic() < deadline:
                    time.sleep(0.01)
                server.send_signal(signal.SIGKILL)
                server.wait(10)
                final_at_kills.append(_final(database))
                server = _serve(database_url, sim.base_url, callback_secret, port, tmp_path)
            _wait_until_up(public, server)
            deadline = time.monotonic() + 180
            while True:
                delivered = _delivered(database)
                announced = _announced(receiver)
                if _final(database) == RECIPIENTS and delivered <= announced.keys():
                    break
                assert time.monotonic() < deadline, (
                    f"{_final(database)} of {RECIPIENTS} final, "
                    f"{len(delivered - announced.keys())} delivered without their event"
                )
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    assert delivered, "the simulator delivered nothing"
    assert min(final_at_kills) < RECIPIENTS, "every kill came after the campaign was over"
    assert announced.keys() == delivered, "an event for a message that was not delivered"
    assert all(len(ids) == 1 for ids in announced.values()), "copies of one event, new ids"
    webhook = Webhook(webhook_secret)
    for received in receiver.received[:50]:
        webhook.verify(received.body, received.headers)
