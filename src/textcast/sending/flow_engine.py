"""The flow engine's loop: one leader per database moves due runs on, chunk by chunk, each
chunk one transaction (`domain.flows.engine`); standbys wait for its lock, as the dispatcher's
standbys do (`leadership`).

Nothing here is kept in memory between chunks: a leader killed at any point leaves the runs of
its unfinished chunk due, and the next leader (or the same one restarted) takes them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from textcast.db import Database
from textcast.domain import flows
from textcast.domain.campaigns.planning import Policy
from textcast.models import utcnow
from textcast.sending.leadership import FLOW_ENGINE_LOCK_KEY, DispatcherLock

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often an idle leader looks for due runs (a trigger wakes it sooner)."""
STANDBY_POLL_SECONDS = 2.0
LEADERSHIP_CHECK_SECONDS = 5.0
SCAN_INTERVAL = timedelta(minutes=1)
"""How often (on the engine's clock) date and segment triggers are looked for (`flows.scans`)."""
CHUNKS_PER_TICK = 20
"""Chunks in one go before the loop looks at its lock and its stop signal again."""


@dataclass(slots=True)
class Totals:
    """What the engine did since it started (for logs, `/readyz` and the benchmark)."""

    woken: int = 0
    queued: int = 0
    skipped: int = 0
    ended: int = 0
    held: int = 0
    chunks: int = 0
    scanned: int = 0
    """Runs that date and segment triggers started."""
    last_tick_at: datetime | None = None


@dataclass
class FlowEngine:
    database: Database
    policy_source: Callable[[], Policy]
    """The sending policy in effect (quotas, quiet hours, prices, short links)."""
    on_queued: Callable[[], None] = lambda: None
    """Told when a chunk wrote texts to the outbox (wakes the dispatcher)."""
    clock: Callable[[], datetime] = utcnow
    chunk: int | None = None
    """Runs per transaction; by default the engine's choice for the database
    (`flows.engine.CHUNK`, `CHUNK_POSTGRESQL`)."""
    poll_seconds: float = POLL_SECONDS
    totals: Totals = field(default_factory=Totals)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    leading: bool = False
    _scanned_at: datetime | None = None

    def wake(self) -> None:
        """Look for due runs now (a trigger just started some); safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        lock = DispatcherLock(self.database, FLOW_ENGINE_LOCK_KEY, "flows")
        try:
            while await self._become_leader(lock, stop):
                self.leading = True
                log.info("flow engine started")
                await self._lead(lock, stop)
                self.leading = False
        finally:
            self.leading = False
            await asyncio.to_thread(lock.release)

    async def _lead(self, lock: DispatcherLock, stop: asyncio.Event) -> None:
        checked = time.monotonic()
        while not stop.is_set():
            if time.monotonic() - checked > LEADERSHIP_CHECK_SECONDS:
                checked = time.monotonic()
                if not await asyncio.to_thread(lock.still_held):
                    log.warning("the flow engine's lock was lost; standing by")
                    return
            try:
                busy = await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("the flow engine failed a round; will try again")
                busy = False
                checked = 0.0  # the failure may have been the lock's connection
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sleep(stop), self.poll_seconds)

    async def _sleep(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _become_leader(self, lock: DispatcherLock, stop: asyncio.Event) -> bool:
        announced = False
        while not stop.is_set():
            try:
                if await asyncio.to_thread(lock.try_acquire):
                    return True
            except Exception as exc:
                log.warning("cannot reach the database for the flow engine's lock (%s)", exc)
            else:
                if not announced:
                    log.info("another flow engine is running on this database; standing by")
                    announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_SECONDS)
        return False

    def tick(self) -> bool:
        """Up to `CHUNKS_PER_TICK` chunks of due runs (blocking); True when the last was full.

        Public for tests and the benchmark, which drive the engine by hand.
        """
        policy = self.policy_source()
        self._scan(self.clock())
        chunk = self.chunk or (
            flows.engine.CHUNK if self.database.is_sqlite else flows.engine.CHUNK_POSTGRESQL
        )
        full = False
        for _ in range(CHUNKS_PER_TICK):
            now = self.clock()
            with self.database.read() as session:
                if not flows.any_due(session, now):
                    break
            with self.database.write() as session:
                done = flows.advance_due(session, policy, now, chunk)
            self._count(done, now)
            if done.queued:
                # At once, not after the tick: the dispatcher sends this chunk's texts while
                # the next chunk is written (100,000 runs waking together make five ticks).
                self.on_queued()
            full = done.full
            if not full:
                break
        return full

    def _scan(self, now: datetime) -> None:
        """Date and segment triggers, once per `SCAN_INTERVAL`: the runs they start are due
        now, so the chunks that follow take them."""
        last = self._scanned_at
        if last is not None and last <= now < last + SCAN_INTERVAL:
            return
        self._scanned_at = now
        try:
            with self.database.read() as session:
                if not flows.scans_needed(session):
                    return
            with self.database.write() as session:
                self.totals.scanned += flows.scan_due(session, now)
        except Exception:
            # Runs already started still move on; the scan is tried again in a minute.
            log.exception("the flow engine failed to scan date and segment triggers")

    def _count(self, done: flows.Advanced, now: datetime) -> None:
        totals = self.totals
        totals.woken += done.woken
        totals.queued += done.queued
        totals.skipped += done.skipped
        totals.ended += done.ended
        totals.held += done.held
        totals.chunks += 1
        totals.last_tick_at = now
