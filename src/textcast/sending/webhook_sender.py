"""The webhook sender: posts the event stream's due deliveries to their subscriptions'
endpoints, beside the dispatcher in every process that dispatches.

Each round is one write transaction: what the POSTs finished since the last round got
(`deliveries.record_attempts`), then a claim of due deliveries for the room left
(`deliveries.claim_due`, which leases them). The POSTs run meanwhile, WEBHOOK_CONCURRENCY at a
time, on a keep-alive connection pool per endpoint. With nothing in flight, the sender polls
the due index with a read: an idle sender never queues for SQLite's one writer.

Every attempt checks the endpoint's host again (`addresses.resolve`) and connects to the
address it checked, not to a second resolution of the name; redirects are not followed; at
most a few KB of the answer are read. Logs name deliveries and hosts, never a body, a query
string or a secret.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from textcast.db import Database, GroupWriter, commit_without_waiting_for_disk
from textcast.domain.errors import InvalidInput
from textcast.domain.webhooks import addresses, deliveries, signatures
from textcast.domain.webhooks.addresses import ForbiddenAddress, Target, Unresolvable
from textcast.domain.webhooks.deliveries import Attempt, Claimed, RetryPolicy
from textcast.models import utcnow
from textcast.sending.webhook_connections import BrokenAnswer, Connections, head_of

log = logging.getLogger("textcast.webhooks")

POLL_SECONDS = 0.1
"""How often an idle sender looks for due deliveries (events recorded in this process wake
it at once; another process's are seen within this time)."""
ROUND_SECONDS = 0.05
"""The least time between the starts of two rounds' transactions, so that outcomes are
written in groups (on SQLite each round takes the one writer's lock)."""
QUEUED_PER_SLOT = 16
"""Claimed deliveries per concurrent POST, at most: enough for a round every ROUND_SECONDS to
keep every slot busy, few enough that a claimed delivery soon goes out."""
LEASE_MARGIN_SECONDS = 30.0
GIVE_UP_ROUNDS = 5
"""Failed rounds in a row after which their attempts are dropped unrecorded."""
READ_LIMIT = 4096
"""Bytes of an answer read at most; its first `EXCERPT_BYTES` are kept for the log."""
EXCERPT_BYTES = 512
HOUSEKEEPING_SECONDS = 60.0
PURGE_SECONDS = 3600.0
CLIENT_IDLE_SECONDS = 300.0
"""An endpoint's connection pool unused this long is closed."""


@dataclass(frozen=True, slots=True)
class SenderConfig:
    retry: RetryPolicy
    user_agent: str
    allow_private: bool = False
    timeout: float = 5.0
    concurrency: int = 32
    poll_seconds: float = POLL_SECONDS
    lease: timedelta | None = None
    """How long a claimed delivery is kept from other senders; by default long enough for
    every claimed delivery to have its turn and time out."""
    housekeeping_seconds: float = HOUSEKEEPING_SECONDS
    """How often endpoints failing for the whole retry window are looked for."""
    purge_seconds: float = PURGE_SECONDS

    @property
    def capacity(self) -> int:
        return self.concurrency * QUEUED_PER_SLOT

    @property
    def lease_span(self) -> timedelta:
        if self.lease is not None:
            return self.lease
        return timedelta(seconds=LEASE_MARGIN_SECONDS + self.timeout * (QUEUED_PER_SLOT + 2))


@dataclass(slots=True)
class Totals:
    """What the sender did since it started (logs, tests, the benchmark)."""

    posted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    rounds: int = 0
    disabled: int = 0


@dataclass
class WebhookSender:
    database: Database
    config: SenderConfig
    clock: Callable[[], datetime] = utcnow
    totals: Totals = field(default_factory=Totals)
    _finished: list[Attempt] = field(default_factory=list)
    _waiting: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    """Claimed deliveries, by id, until their attempt is finished (or given back)."""
    _posting: set[int] = field(default_factory=set)
    """Those whose POST has started."""
    _connections: Connections = field(default_factory=Connections)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    _maybe_due: bool = False
    _housekept_at: float = 0.0
    _purged_at: float = 0.0
    _failed_rounds: int = 0

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._writer = GroupWriter(self.database)

    def wake(self) -> None:
        """Look for due deliveries now (events were just recorded); safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._woken)

    def _woken(self) -> None:
        self._maybe_due = True
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._housekept_at = self._purged_at = time.monotonic()
        polled_at = 0.0
        try:
            while not stop.is_set():
                self._changed.clear()
                try:
                    await self._housekeep()
                    if self._finished or (self._room() and self._maybe_due):
                        began = time.monotonic()
                        await self._round()
                        # Rounds start ROUND_SECONDS apart at most (a slow one is not
                        # followed by a pause: claimed deliveries would wait for nothing).
                        rest = began + ROUND_SECONDS - time.monotonic()
                        if rest > 0:
                            await self._pause(stop, rest, woken=False)
                        continue
                    wait = self.config.poll_seconds  # for an attempt to finish, at most
                    if self._room():
                        if time.monotonic() - polled_at >= self.config.poll_seconds:
                            polled_at = time.monotonic()
                            self._maybe_due = await asyncio.to_thread(self._anything_due)
                            if self._maybe_due:
                                continue
                        wait = max(polled_at + self.config.poll_seconds - time.monotonic(), 0.001)
                    await self._pause(stop, wait, woken=True)
                except Exception:
                    log.exception("the webhook sender failed a round; will try again")
                    await self._pause(stop, max(self.config.poll_seconds, 1.0), woken=False)
        finally:
            await self._stop()

    def _room(self) -> int:
        return self.config.capacity - len(self._waiting)

    async def _pause(self, stop: asyncio.Event, seconds: float, *, woken: bool) -> None:
        """Until `seconds` have passed or `stop`; or, `woken`, until an attempt finishes or
        `wake()` is called (since the loop's turn began)."""
        waiters = [asyncio.create_task(stop.wait())]
        if woken:
            waiters.append(asyncio.create_task(self._changed.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _anything_due(self) -> bool:
        with self.database.read() as session:
            due = deliveries.next_due(session)
        return due is not None and due <= self.clock()

    async def _round(self) -> None:
        finished, self._finished = self._finished, []
        room = self._room()
        try:
            recorded, claimed = await self._writer.write(
                lambda connection: self._write_round(connection, finished, room)
            )
        except BaseException:
            self._failed_rounds += 1
            if self._failed_rounds < GIVE_UP_ROUNDS:
                self._finished[:0] = finished  # written at the next round
            else:
                # Whatever keeps failing must not stop every round after it: these are
                # still leased, and are posted again when the lease ends.
                log.error("%d webhook attempts could not be recorded", len(finished))
                self._failed_rounds = 0
            raise
        self._failed_rounds = 0
        self._maybe_due = len(claimed) >= room > 0
        for delivery in claimed:
            self._waiting[delivery.id] = asyncio.create_task(self._deliver(delivery))
        totals = self.totals
        totals.rounds += 1
        totals.delivered += recorded.delivered
        totals.retrying += recorded.retrying
        totals.failed += recorded.failed
        totals.disabled += len(recorded.disabled)
        for subscription_id in recorded.disabled:
            log.warning(
                "webhook subscription %d disabled: its endpoint failed for %s",
                subscription_id,
                deliveries.duration(self.config.retry.window),
            )

    def _write_round(
        self, connection: Connection, finished: list[Attempt], room: int
    ) -> tuple[deliveries.Recorded, list[Claimed]]:
        """A round's transaction, on the event loop on SQLite (`GroupWriter`): in a thread,
        its Python work would take the GIL from the loop's POSTs for as long as it runs."""
        now = self.clock()
        with Session(bind=connection, join_transaction_mode="rollback_only") as session:
            # Lost in a crash, a round loses nothing acted upon: its deliveries are leased,
            # and posted again (under the same webhook-id) when the lease ends.
            commit_without_waiting_for_disk(session)
            recorded = deliveries.record_attempts(session, finished, self.config.retry, now)
            claimed = (
                deliveries.claim_due(session, now, room, now + self.config.lease_span)
                if room
                else []
            )
            session.flush()  # the audit entries of endpoints disabled
        return recorded, claimed

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            async with self._slots:
                self._posting.add(delivery.id)
                attempt = await self._post(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a defect here must not leave the delivery leased for good
            log.exception("webhook delivery %d: the attempt failed unexpectedly", delivery.id)
            attempt = Attempt(delivery, self.clock(), error=f"textcast failed to post: {exc}")
        finally:
            self._posting.discard(delivery.id)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "webhook delivery %d to %s: %s",
                delivery.id,
                urlsplit(delivery.url).hostname,
                attempt.status or attempt.error,
            )
        self._waiting.pop(delivery.id, None)
        self._finished.append(attempt)
        self.totals.posted += 1
        self._changed.set()

    async def _post(self, delivery: Claimed) -> Attempt:
        at = self.clock()
        try:
            target = _target(delivery.url)
        except InvalidInput as exc:
            return Attempt(delivery, at, error=f"the URL is not valid: {exc}", final=True)
        try:
            address = (await self._resolve(target))[0]
        except Unresolvable as exc:
            return Attempt(delivery, at, error=str(exc))
        except ForbiddenAddress as exc:
            return Attempt(delivery, at, error=str(exc), final=True)
        body = delivery.body.encode()
        signed = signatures.headers(delivery.secret, delivery.webhook_id, int(time.time()), body)
        request = (
            head_of(
                _request_target(delivery.url),
                [
                    ("host", _host_header(target)),
                    ("user-agent", self.config.user_agent),
                    ("content-type", "application/json"),
                    *signed.items(),
                ],
                body,
            )
            + body
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.timeout):
                # The address checked, not the name: a second resolution could answer
                # otherwise. Over https, the certificate is verified for the name.
                answer = await self._connections.post(
                    str(address),
                    target.port,
                    request,
                    tls_name=target.host if target.scheme == "https" else None,
                    limit=READ_LIMIT,
                )
        except TimeoutError:
            return Attempt(
                delivery,
                at,
                _since(started),
                error=f"no answer within {self.config.timeout:g} seconds",
            )
        except BrokenAnswer as exc:
            return Attempt(delivery, at, _since(started), error=str(exc))
        except ssl.SSLError as exc:
            return Attempt(delivery, at, _since(started), error=f"TLS failed ({exc.reason})")
        except OSError as exc:
            return Attempt(delivery, at, _since(started), error=_connection_error(exc))
        return Attempt(
            delivery,
            at,
            _since(started),
            answer.status,
            excerpt=answer.excerpt[:EXCERPT_BYTES].decode("utf-8", "replace"),
            retry_after=_retry_after(answer.retry_after) if answer.status == 429 else None,
        )

    async def _resolve(self, target: Target) -> list[addresses.IPAddress]:
        allow = self.config.allow_private
        if _is_literal(target.host):
            return addresses.resolve(target, allow_private=allow)
        return await asyncio.to_thread(addresses.resolve, target, allow_private=allow)

    async def _housekeep(self) -> None:
        """Now and then: disable endpoints failing for the whole retry window (also those with
        nothing left to retry), forget the old delivery log, close idle pools."""
        now = time.monotonic()
        if now - self._housekept_at < self.config.housekeeping_seconds:
            return
        self._housekept_at = now
        purge = now - self._purged_at >= self.config.purge_seconds
        if purge:
            self._purged_at = now
        try:
            disabled, purged = await asyncio.to_thread(self._keep_house, purge)
        except Exception:
            log.exception("the webhook sender's housekeeping failed; will try again")
            return
        self.totals.disabled += len(disabled)
        for subscription_id in disabled:
            log.warning(
                "webhook subscription %d disabled: its endpoint kept failing", subscription_id
            )
        if purged:
            log.info("%d old webhook deliveries and events forgotten", purged)
        self._connections.close_idle()

    def _keep_house(self, purge: bool) -> tuple[list[int], int]:
        now = self.clock()
        with self.database.read() as session:
            failing = deliveries.failing_too_long(session, self.config.retry, now)
            old = purge and deliveries.purgeable(session, now) is not None
        disabled: list[int] = []
        if failing:
            with self.database.write() as session:
                disabled = deliveries.disable_failing(session, self.config.retry, now, failing)
        purged = 0
        while old:
            with self.database.write() as session:
                gone = deliveries.purge(session, now)
            purged += gone
            old = gone >= deliveries.PURGE_CHUNK
        return disabled, purged

    async def _stop(self) -> None:
        """Posts under way may finish (within the timeout); claimed deliveries not posted yet
        are given back, due at once; what finished is recorded."""
        for delivery_id, task in list(self._waiting.items()):
            if delivery_id not in self._posting:
                task.cancel()
        started = [t for i, t in self._waiting.items() if i in self._posting]
        if started:
            await asyncio.wait(started, timeout=self.config.timeout)
        for task in self._waiting.values():
            task.cancel()
        await asyncio.gather(*self._waiting.values(), return_exceptions=True)
        unposted = list(self._waiting)
        finished, self._finished = self._finished, []
        try:
            await asyncio.to_thread(self._write_last, finished, unposted)
        except Exception:
            # Leased, not lost: they are due again when the lease ends.
            log.exception("the webhook sender could not record its last attempts")
        self._waiting.clear()
        self._writer.close()
        await self._connections.aclose()

    def _write_last(self, finished: list[Attempt], unposted: list[int]) -> None:
        if not finished and not unposted:
            return
        now = self.clock()
        with self.database.write() as session:
            deliveries.record_attempts(session, finished, self.config.retry, now)
            deliveries.release(session, unposted, now)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host.encode("idna").decode()
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _retry_after(value: str | None) -> float | None:
    """A Retry-After header's wait in seconds (a number of seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _connection_error(exc: OSError) -> str:
    """A connection that failed, in words (the error's own text names no URL)."""
    if isinstance(exc, ConnectionRefusedError):
        return "could not connect (connection refused)"
    if isinstance(exc, ConnectionError):
        return f"the connection failed ({exc.strerror or type(exc).__name__})"
    return f"could not connect ({exc.strerror or exc})"


@functools.lru_cache(maxsize=1024)
def _target(url: str) -> Target:
    return addresses.read_url(url)


@functools.lru_cache(maxsize=1024)
def _request_target(url: str) -> str:
    """The path and query of the request line, percent-encoded."""
    return httpx.URL(url).raw_path.decode("ascii")
