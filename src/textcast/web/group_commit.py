"""Group commit for webhooks: many callbacks, one transaction, each answered after the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from textcast.db import Database
from textcast.domain.inbox import IncomingEvent, Outcome, store_events

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
        self, database: Database, *, writers: int = 1, max_group: int = 500, timeout: float = 10.0
    ) -> None:
        self.database = database
        self.writers = writers
        self.max_group = max_group
        self.timeout = timeout
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_forever()) for _ in range(self.writers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            self._queue.get_nowait().done.set_exception(StorageUnavailable("shutting down"))

    async def store(self, event: IncomingEvent) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(event, done))
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.timeout)
        except TimeoutError:
            raise StorageUnavailable("storage timed out") from None

    async def _write_forever(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self.max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                outcomes = await asyncio.to_thread(self._write, [p.event for p in group])
            except Exception as exc:
                log.error("storing %d webhook event(s) failed: %s", len(group), type(exc).__name__)
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(StorageUnavailable(type(exc).__name__))
                continue
            for pending, outcome in zip(group, outcomes, strict=True):
                if not pending.done.done():
                    pending.done.set_result(outcome)

    def _write(self, events: list[IncomingEvent]) -> list[Outcome]:
        with self.database.write() as session:
            return store_events(session, events)
