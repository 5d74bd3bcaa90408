"""Group commit for webhooks: many callbacks, one transaction, each answered after the commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from textcast.db import Database, GroupWriter
from textcast.domain.inbox.events import IncomingEvent, Outcome
from textcast.domain.inbox.statuses import KnownBatches
from textcast.domain.inbox.storage import InboundHook, store_events

log = logging.getLogger("textcast.webhooks")


class StorageUnavailable(Exception):
    """The event could not be stored; the caller answers 503 so Sinch retries."""


@dataclass(slots=True)
class _Pending:
    event: IncomingEvent
    done: asyncio.Future[Outcome]


class GroupCommitter:
    """Requests queue their event and wait; writers store whatever has queued meanwhile.

    While one group commits, the next one gathers, so throughput grows with load while a
    lone callback is still stored at once.
    """

    def __init__(
        self,
        database: Database,
        *,
        writers: int = 1,
        max_group: int = 500,
        timeout: float = 10.0,
        on_inbound: InboundHook | None = None,
        invalid_after: Callable[[], int] = lambda: 0,
    ) -> None:
        self.database = database
        self.on_inbound = on_inbound
        self.invalid_after = invalid_after
        """INVALID_AFTER_FAILURES as it is now (an admin may change it while this runs)."""
        self.writers = writers
        self.max_group = max_group
        self.timeout = timeout
        self.known_batches = KnownBatches()
        self._writer = GroupWriter(database)
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = False

    def start(self) -> None:
        self._accepting = True
        self._tasks = [asyncio.create_task(self._write_forever()) for _ in range(self.writers)]

    async def stop(self) -> None:
        """Store what has queued so far, then stop; gives up on a writer stuck for `timeout`."""
        self._accepting = False
        for _ in self._tasks:
            self._queue.put_nowait(None)
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=self.timeout)
            for task in stuck:
                task.cancel()
        self._tasks = []
        while not self._queue.empty():
            if pending := self._queue.get_nowait():
                _fail([pending], StorageUnavailable("shutting down"))
        self._writer.close()

    async def store(self, event: IncomingEvent) -> Outcome:
        if not self._accepting:
            raise StorageUnavailable("not accepting events")
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(event, done))
        return await done

    async def _write_forever(self) -> None:
        while group := await self._next_group():
            try:
                outcomes = await self._store(group)
            except asyncio.CancelledError:
                _fail(group, StorageUnavailable("shutting down"))
                raise
            except Exception as exc:
                log.error("storing webhook events failed (%d): %s", len(group), type(exc).__name__)
                _fail(group, StorageUnavailable(type(exc).__name__))
                continue
            for pending, outcome in zip(group, outcomes, strict=True):
                if not pending.done.done():  # not cancelled meanwhile
                    pending.done.set_result(outcome)

    async def _next_group(self) -> list[_Pending]:
        """Waits for one event, then takes what else has queued; empty when stopping."""
        pending = await self._queue.get()
        if pending is None:
            self._queue.put_nowait(None)
            return []
        group = [pending]
        self._take_queued(group)
        return group

    def _take_queued(self, group: list[_Pending]) -> None:
        while len(group) < self.max_group and not self._queue.empty():
            pending = self._queue.get_nowait()
            if pending is None:
                self._queue.put_nowait(None)  # stop after this group, on the next call
                return
            group.append(pending)

    async def _store(self, group: list[_Pending]) -> list[Outcome]:
        """Raises TimeoutError when storage is stuck for `timeout`: the group gets 503s."""

        def work(connection: Connection) -> list[Outcome]:
            events = [pending.event for pending in group]  # as the group is when it is written
            return store_events(
                connection, events, self.known_batches, self.on_inbound, self.invalid_after()
            )

        return await self._writer.write(
            work, while_waiting=lambda: self._take_queued(group), timeout=self.timeout
        )


def _fail(group: list[_Pending], error: StorageUnavailable) -> None:
    for pending in group:
        if not pending.done.done():
            pending.done.set_exception(error)
