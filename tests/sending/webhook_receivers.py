"""A webhook endpoint on a real port, recording what it receives and answering from a script,
and what the webhook sender's tests share to run one."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.servers import serving

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks import signatures
from textcast.models import EventType, WebhookSubscription
from textcast.runtime import webhook_sender_config
from textcast.sending.webhook_sender import SenderConfig, WebhookSender


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes
    path: str
    at: float


@dataclass
class Receiver:
    """An ASGI app: the n-th request gets `answers[n]` (a status, or a status and a body),
    then `otherwise`. `hold`: requests whose number is in it wait until `release` is set."""

    answers: list[int | tuple[int, bytes]] = field(default_factory=list)
    otherwise: int = 204
    hold: frozenset[int] = frozenset()
    release: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        number = len(self.received)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body, scope["path"], time.time()))
        if number in self.hold:
            deadline = time.monotonic() + 30
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        answer = self.answers[number] if number < len(self.answers) else self.otherwise
        status, content = answer if isinstance(answer, tuple) else (answer, b"")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": content})

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    """The receiver's base URL (`http://127.0.0.1:<port>`)."""
    with serving(receiver) as url:
        try:
            yield url
        finally:
            receiver.release.set()


def subscribe(database: Database, url: str, *types: str) -> tuple[int, str]:
    """An active subscription to `url`: its id and secret."""
    secret = signatures.new_secret()
    with database.write() as session:
        subscription = WebhookSubscription(url=url, event_types=list(types or ["*"]), secret=secret)
        session.add(subscription)
        session.flush()
        return subscription.id, secret


def record(database: Database, **data: Any) -> None:
    with database.write() as session:
        stream.record(session, EventType.CONTACT_SUBSCRIBED, {"contact_id": 1, **data})


def sender_config(database_url: str, **settings: Any) -> SenderConfig:
    """The sender's configuration as `textcast serve` builds it from these settings, polling
    and housekeeping often (a test's window is seconds)."""
    config = webhook_sender_config(
        load_settings(
            database_url=database_url,
            **{"webhook_allow_private": True, "webhook_first_retry_seconds": 0.05, **settings},
        )
    )
    return dataclasses.replace(config, poll_seconds=0.02, housekeeping_seconds=0.1)


async def until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def sending(
    database: Database, config: SenderConfig, condition: Callable[[], bool], what: str
) -> WebhookSender:
    """Run a sender until `condition` holds, then stop it; the sender (for its totals)."""
    sender = WebhookSender(database, config)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        await until(condition, what)
    finally:
        stop.set()
        await task
    return sender
