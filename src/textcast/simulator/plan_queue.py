"""The service plan's FIFO queue: recipients leave it at the plan rate, then reach a final status.

Work is done in ranges, never per recipient task: one scheduler coroutine wakes when something is
due, moves whole slices of a batch from Queued to Dispatched (as many as the rate allows), and
finalises each dispatched slice `final_delay` later by drawing all its outcomes at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

from textcast.simulator.batches import Delivery, Run
from textcast.simulator.config import SimulatorConfig
from textcast.simulator.statuses import CANCELLED, DISPATCHED, INTERNAL_EXPIRY, StatusTable

log = logging.getLogger("textcast.simulator.plan_queue")

MIN_WAIT = 0.001
RATE_TICK = 0.005  # at high rates, let a few ms of allowance gather instead of waking per message
BURST_SECONDS = 0.25


class Publisher(Protocol):
    def changed(self, delivery: Delivery, indices: Iterable[int], *, final: bool) -> None: ...
    def completed(self, delivery: Delivery, now: float) -> None: ...


class PlanQueue:
    def __init__(
        self,
        config: SimulatorConfig,
        table: StatusTable,
        publisher: Publisher,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._rate = config.rate
        self._queued_delay = config.queued_delay
        self._dispatch_delay = config.dispatch_delay
        self._final_delay = config.final_delay
        self._table = table
        self._publisher = publisher
        self._clock = clock
        self._rng = rng
        self._order = itertools.count()
        self._wake: asyncio.Event | None = None
        self.clear()

    def clear(self) -> None:
        self._pending: list[tuple[float, int, Delivery]] = []
        self._fifo: deque[Delivery] = deque()
        self._in_flight: deque[tuple[Delivery, Run]] = deque()
        self._allowance = 0.0
        self._last_refill = self._clock()
        self.waiting = 0
        self.in_flight = 0

    def submit(self, delivery: Delivery) -> None:
        start = max(delivery.send_time, self._clock()) + self._queued_delay
        heapq.heappush(self._pending, (start, next(self._order), delivery))
        self.waiting += delivery.size
        self._poke()

    def cancel(self, delivery: Delivery) -> None:
        if delivery.canceled_at is not None:
            return
        now = self._clock()
        delivery.canceled_at = now
        left = delivery.size - delivery.dispatched
        self.waiting -= left
        if not delivery.visible(now):
            delivery.voided = True
            return
        if left:
            delivery.states[delivery.dispatched :] = bytes([CANCELLED]) * left
            delivery.final_count += left
            cancelled = range(delivery.dispatched, delivery.size)
            self._publisher.changed(delivery, cancelled, final=True)
            self._check_complete(delivery, now)
        self._poke()

    async def run(self) -> None:
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            now = self._clock()
            try:
                due = self.tick(now)
            except Exception:  # one bad batch must not stop every other delivery
                log.exception("simulator scheduler tick failed")
                due = now + 0.1
            timeout = None if due is None else max(due - now, MIN_WAIT)
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def tick(self, now: float) -> float | None:
        """Do everything due by `now`; return when something is next due (None: idle)."""
        self._refill(now)
        while self._pending and self._pending[0][0] <= now:
            delivery = heapq.heappop(self._pending)[2]
            if delivery.canceled_at is None:
                self._enqueue(delivery, now)
        self._dispatch(now)
        while self._in_flight and self._in_flight[0][1].final_at <= now:
            self._finalize(*self._in_flight.popleft(), now)
        return self._next_due(now)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _enqueue(self, delivery: Delivery, now: float) -> None:
        delivery.enqueued_at = now
        self._fifo.append(delivery)
        self._publisher.changed(delivery, range(delivery.size), final=False)

    def _refill(self, now: float) -> None:
        if self._rate:
            # An idle plan banks one message; a busy one may catch up on a late wake-up.
            cap = max(1.0, self._rate * BURST_SECONDS) if self._fifo else 1.0
            gained = (now - self._last_refill) * self._rate
            self._allowance = min(self._allowance + gained, cap)
        self._last_refill = now

    def _dispatch(self, now: float) -> None:
        while self._fifo:
            delivery = self._fifo[0]
            left = delivery.size - delivery.dispatched
            if delivery.canceled_at is not None or not left:
                self._fifo.popleft()
                continue
            assert delivery.enqueued_at is not None
            if delivery.enqueued_at + self._dispatch_delay > now:
                return
            count = min(left, int(self._allowance)) if self._rate else left
            if count <= 0:
                return
            if self._rate:
                self._allowance -= count
            self._dispatch_range(delivery, delivery.dispatched, delivery.dispatched + count, now)

    def _dispatch_range(self, delivery: Delivery, start: int, end: int, now: float) -> None:
        count = end - start
        self.waiting -= count
        delivery.dispatched = end
        if now >= delivery.expire_at:
            delivery.states[start:end] = bytes([INTERNAL_EXPIRY]) * count
            delivery.add_run(Run(start, end, now, now, finalized=True))
            delivery.final_count += count
            self._publisher.changed(delivery, range(start, end), final=True)
            self._check_complete(delivery, now)
            return
        delivery.states[start:end] = bytes([DISPATCHED]) * count
        presets = delivery.presets_between(start, end)
        for index in presets:
            delivery.states[index] = delivery.presets[index]
        run = Run(start, end, now, now + self._final_delay)
        delivery.add_run(run)
        self._in_flight.append((delivery, run))
        delivery.final_count += len(presets)
        self.in_flight += count - len(presets)
        self._publisher.changed(delivery, _without(range(start, end), presets), final=False)
        self._publisher.changed(delivery, presets, final=True)
        self._check_complete(delivery, now)

    def _finalize(self, delivery: Delivery, run: Run, now: float) -> None:
        count = run.end - run.start
        drawn = self._rng.choices(
            self._table.outcome_states, cum_weights=self._table.cumulative_shares, k=count
        )
        delivery.states[run.start : run.end] = bytes(drawn)
        if chosen := self._table.number_states:
            recipients = delivery.recipients
            for index in range(run.start, run.end):
                if (state := chosen.get(recipients[index])) is not None:
                    delivery.states[index] = state
        presets = delivery.presets_between(run.start, run.end)
        for index in presets:
            delivery.states[index] = delivery.presets[index]
        run.finalized = True
        delivery.final_count += count - len(presets)
        self.in_flight -= count - len(presets)
        self._publisher.changed(delivery, _without(range(run.start, run.end), presets), final=True)
        self._check_complete(delivery, now)

    def _check_complete(self, delivery: Delivery, now: float) -> None:
        if not delivery.completed and delivery.final_count >= delivery.size:
            delivery.completed = True
            self._publisher.completed(delivery, now)

    def _next_due(self, now: float) -> float | None:
        candidates = []
        if self._pending:
            candidates.append(self._pending[0][0])
        if self._in_flight:
            candidates.append(self._in_flight[0][1].final_at)
        if self._fifo:
            head = self._fifo[0]
            assert head.enqueued_at is not None
            due = head.enqueued_at + self._dispatch_delay
            if self._rate and self._allowance < 1:
                due = max(due, now + max((1 - self._allowance) / self._rate, RATE_TICK))
            candidates.append(due)
        return min(candidates) if candidates else None


def _without(indices: range, skipped: list[int]) -> Iterable[int]:
    if not skipped:
        return indices
    skip = set(skipped)
    return [index for index in indices if index not in skip]
