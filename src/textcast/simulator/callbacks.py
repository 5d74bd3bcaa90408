"""Callback delivery the way Sinch does it: signed (and with basic auth if set up), concurrent,
retried on 5xx/429/network errors.

Retry k (k = 1..15) happens 5·2^(k-1) s after the first failure (times `time_scale`); any other
4xx drops the callback at once (docs/sinch.md, "Callback retries").
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from textcast.simulator.signatures import signature_headers

log = logging.getLogger("textcast.simulator.callbacks")

USER_AGENT = "textcast-sinch-simulator"


@dataclass(slots=True)
class CallbackStats:
    sent: int = 0
    succeeded: int = 0
    retried: int = 0
    dropped: int = 0
    rejected: int = 0
    failed_attempts: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True, eq=False)
class Callback:
    url: str
    body: bytes
    kind: str
    payload: dict[str, Any]
    retries: int = 0
    first_failure: float | None = None
    timer: asyncio.TimerHandle | None = None


def encode_payload(payload: dict[str, Any]) -> bytes:
    # Sinch sends compact JSON with keys in alphabetical order (see the signed example).
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def basic_authorization(user: str, password: str) -> str:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {credentials}"


class CallbackSender:
    def __init__(
        self,
        *,
        secret: str | None,
        basic_auth: tuple[str, str] | None,
        concurrency: int,
        timeout: float,
        time_scale: float,
        max_retries: int,
        on_delivered: Callable[[Callback], None] | None = None,
    ) -> None:
        self._on_delivered = on_delivered
        self._secret = secret
        self._headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if basic_auth is not None:
            self._headers["authorization"] = basic_authorization(*basic_auth)
        self._concurrency = concurrency
        self._timeout = timeout
        self._time_scale = time_scale
        self._max_retries = max_retries
        self._staged: list[Callback] = []
        self._queue: asyncio.Queue[Callback] | None = None
        self._timers: set[Callback] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._clients: list[httpx.AsyncClient] = []
        self._busy = 0
        self.stats = CallbackStats()

    @property
    def pending(self) -> int:
        queued = len(self._staged) + (self._queue.qsize() if self._queue else 0)
        return queued + len(self._timers) + self._busy

    def submit(self, url: str, payload: dict[str, Any], kind: str) -> None:
        callback = Callback(url, encode_payload(payload), kind, payload)
        if self._queue is None:
            self._staged.append(callback)
        else:
            self._queue.put_nowait(callback)

    def start(self) -> None:
        if self._queue is not None:  # left over from a loop that has gone away
            while not self._queue.empty():
                self._staged.append(self._queue.get_nowait())
        self._queue = asyncio.Queue()
        for callback in self._staged:
            self._queue.put_nowait(callback)
        self._staged.clear()
        # One small client per worker, each kept for the sender's life: httpcore's pool checks
        # every connection on every request, so a single 16-connection pool halves throughput.
        # They share one TLS context: building one costs ~40 ms.
        limits = httpx.Limits(max_connections=2)
        tls = ssl.create_default_context()
        self._clients = [
            httpx.AsyncClient(timeout=self._timeout, limits=limits, verify=tls)
            for _ in range(self._concurrency)
        ]
        self._workers = [asyncio.create_task(self._work(client)) for client in self._clients]

    async def stop(self) -> None:
        """Cancel everything in flight; undelivered callbacks are kept for a later start."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for callback in list(self._timers):
            self._cancel_timer(callback)
            self._staged.append(callback)
        if self._queue is not None:
            while not self._queue.empty():
                self._staged.append(self._queue.get_nowait())
            self._queue = None
        for client in self._clients:
            await client.aclose()
        self._clients = []
        self._busy = 0

    def clear(self) -> None:
        for callback in list(self._timers):
            self._cancel_timer(callback)
        self._staged.clear()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()
        self.stats = CallbackStats()

    async def _work(self, client: httpx.AsyncClient) -> None:
        assert self._queue is not None
        while True:
            callback = await self._queue.get()
            self._busy += 1
            try:
                await self._deliver(client, callback)
            finally:
                self._busy -= 1

    async def _deliver(self, client: httpx.AsyncClient, callback: Callback) -> None:
        headers = dict(self._headers)
        if self._secret:
            headers.update(signature_headers(self._secret, callback.body))
        self.stats.sent += 1
        try:
            response = await client.post(callback.url, content=callback.body, headers=headers)
        except httpx.TransportError as error:
            log.debug("%s callback failed: %s", callback.kind, type(error).__name__)
            self._retry_later(callback)
            return
        except httpx.HTTPError as error:
            log.warning("%s callback dropped: %s", callback.kind, type(error).__name__)
            self.stats.dropped += 1
            return
        status = response.status_code
        if 200 <= status < 300:
            self.stats.succeeded += 1
            if self._on_delivered is not None:
                self._on_delivered(callback)
        elif status >= 500 or status == 429:
            self._retry_later(callback)
        else:
            log.info("%s callback dropped after HTTP %d", callback.kind, status)
            self.stats.rejected += 1
            self.stats.dropped += 1

    def _retry_later(self, callback: Callback) -> None:
        self.stats.failed_attempts += 1
        loop = asyncio.get_running_loop()
        if callback.first_failure is None:
            callback.first_failure = loop.time()
        callback.retries += 1
        if callback.retries > self._max_retries:
            log.info("%s callback dropped after %d retries", callback.kind, self._max_retries)
            self.stats.dropped += 1
            return
        self.stats.retried += 1
        offset = 5 * 2 ** (callback.retries - 1) * self._time_scale
        callback.timer = loop.call_at(callback.first_failure + offset, self._requeue, callback)
        self._timers.add(callback)

    def _requeue(self, callback: Callback) -> None:
        self._timers.discard(callback)
        callback.timer = None
        if self._queue is None:
            self._staged.append(callback)
        else:
            self._queue.put_nowait(callback)

    def _cancel_timer(self, callback: Callback) -> None:
        if callback.timer is not None:
            callback.timer.cancel()
            callback.timer = None
        self._timers.discard(callback)
