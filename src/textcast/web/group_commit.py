"""Group commit for webhooks: many callbacks, one transaction, each answered after the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from textcast.db import Database
from textcast.domain.inbox import (
    InboundHook,
    IncomingEvent,
    KnownBatches,
    Outcome,
    store_events,
)

log = logging.getLogger("textcast.webhooks")
_T = TypeVar("_T")


class StorageUnavailable(Exception):
    """The event could not be stored; the caller answers 503 so Sinch retries."""


@dataclass(slots=True)
class _Pending:
    event: IncomingEvent
    done: asyncio.Future[Outcome]


class GroupCommitter:
    """Requests queue their event and wait; writer threads store whatever queued meanwhile.

    While one group commits, the next one gathers, so throughput grows with load while a
    lone callback is still stored at once.

    The writers are threads of their own, fed by a thread-safe queue, rather than tasks that
    hand each group to a worker thread: a writer starts on the next group the moment its
    commit returns, without first waiting for the busy event loop to run it, and the loop only
    hears back once per group.
    """

    def __init__(
        self,
        database: Database,
        *,
        writers: int = 1,
        max_group: int = 500,
        timeout: float = 10.0,
        on_inbound: InboundHook | None = None,
    ) -> None:
        self.database = database
        self.on_inbound = on_inbound
        self.writers = writers
        self.max_group = max_group
        self.timeout = timeout
        self.known_batches = KnownBatches()
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._accepting = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._accepting = True
        self._threads = [
            threading.Thread(target=self._write_forever, name=f"webhook-writer-{n}", daemon=True)
            for n in range(self.writers)
        ]
        for thread in self._threads:
            thread.start()

    async def stop(self) -> None:
        """Let the writers finish the group in hand; whatever is still queued gets a 503."""
        self._accepting = False
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
        self._threads = []
        await asyncio.sleep(0)  # deliver the answers the writers sent last
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if pending is not None and not pending.done.done():
                pending.done.set_exception(StorageUnavailable("shutting down"))

    async def store(self, event: IncomingEvent) -> Outcome:
        if not self._accepting:
            raise StorageUnavailable("not accepting events")
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(event, done))
        try:
            return await asyncio.wait_for(done, self.timeout)
        except TimeoutError:
            raise StorageUnavailable("storage timed out") from None

    def _write_forever(self) -> None:
        while (group := self._next_group()) is not None:
            try:
                outcomes = self._write([pending.event for pending in group])
            except Exception as exc:
                log.error("storing %d webhook event(s) failed: %s", len(group), type(exc).__name__)
                self._call_in_loop(_fail, group, StorageUnavailable(type(exc).__name__))
            else:
                self._call_in_loop(_resolve, group, outcomes)

    def _next_group(self) -> list[_Pending] | None:
        """Blocks for the first event, then takes what else is queued; None when stopping."""
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < self.max_group:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is None:
                self._queue.put(None)  # this writer stops after the group in hand
                break
            group.append(pending)
        return group

    def _write(self, events: list[IncomingEvent]) -> list[Outcome]:
        with self.database.write_connection() as connection:
            return store_events(connection, events, self.known_batches, self.on_inbound)

    def _call_in_loop(
        self, answer: Callable[[list[_Pending], _T], None], group: list[_Pending], result: _T
    ) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(answer, group, result)


def _resolve(group: list[_Pending], outcomes: list[Outcome]) -> None:
    for pending, outcome in zip(group, outcomes, strict=True):
        if not pending.done.done():  # not timed out meanwhile
            pending.done.set_result(outcome)


def _fail(group: list[_Pending], error: StorageUnavailable) -> None:
    for pending in group:
        if not pending.done.done():
            pending.done.set_exception(error)
