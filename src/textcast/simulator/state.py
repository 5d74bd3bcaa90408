"""The simulated account: batches, queue, callbacks, inbounds, ledger and faults, plus the
control operations tests use. Everything here runs on the server's event loop."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from textcast.simulator.batch_requests import (
    FIXED_ONCE_SENT,
    BatchSpec,
    merge_update,
    parse_send_request,
)
from textcast.simulator.batches import Batch, Delivery, aborted_on_dispatch
from textcast.simulator.callbacks import Callback, CallbackSender
from textcast.simulator.config import Faults, Outcome, SimulatorConfig
from textcast.simulator.errors import constraint_violation
from textcast.simulator.ids import new_id
from textcast.simulator.inbounds import Inbounds
from textcast.simulator.ledger import Ledger, LedgerReport
from textcast.simulator.plan_queue import PlanQueue
from textcast.simulator.reports import ReportPublisher
from textcast.simulator.statuses import StatusTable

log = logging.getLogger("textcast.simulator")

FAULT_KINDS = ("error_5xx", "error_429", "accept_then_timeout", "connection_reset")


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._clock_offset = time.time() - time.monotonic()
        seed = config.seed
        self.fault_rng = random.Random(None if seed is None else seed + 1)
        self.table = StatusTable(config.outcomes, config.number_outcomes)
        self.callbacks = CallbackSender(
            secret=config.webhook_secret,
            basic_auth=config.callback_basic_auth,
            concurrency=config.callback_concurrency,
            timeout=config.callback_timeout,
            time_scale=config.time_scale,
            max_retries=config.callback_retries,
            on_delivered=self._delivered,
        )
        self.inbound_acks: list[dict[str, Any]] = []
        publisher = ReportPublisher(self.table, self.callbacks, config.default_callback_url)
        self.queue = PlanQueue(config, self.table, publisher, self.clock, random.Random(seed))
        self.ledger = Ledger()
        self.inbounds = Inbounds()
        self.faults = config.faults
        self.number_outcomes: dict[str, Outcome] = dict(config.number_outcomes)
        self.fault_counts: Counter[str] = Counter()
        self._batches: dict[str, Batch] = {}
        self._by_reference: dict[str, list[Batch]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._release: asyncio.Event | None = None

    def clock(self) -> float:
        """Wall-clock time that never jumps: timestamps stay true, schedules stay monotonic."""
        return time.monotonic() + self._clock_offset

    # -- running ---------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def ensure_running(self) -> None:
        """Start the scheduler and callback workers on the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        self._release = asyncio.Event()
        self.callbacks.start()
        self._scheduler = loop.create_task(self.queue.run())

    async def stop(self) -> None:
        self.release_held()
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        await self.callbacks.stop()
        self._loop = None

    def release_held(self) -> None:
        """End every response held by `accept_then_timeout` now (used at shutdown)."""
        if self._release is not None:
            self._release.set()

    async def hold(self, seconds: float) -> None:
        release = self._release
        if release is None or release.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await release.wait()

    # -- batches ---------------------------------------------------------------------------

    def parse(self, data: object, *, check_callback: bool = True) -> BatchSpec:
        return parse_send_request(
            data,
            # Whole milliseconds, as every timestamp is shown, and never in the future: a batch
            # is sent from the moment it is accepted.
            now=math.floor(self.clock() * 1000) / 1000,
            default_callback_url=self.config.default_callback_url,
            allowed_callback_urls=self.config.allowed_callback_urls,
            check_callback=check_callback,
        )

    def accept(self, spec: BatchSpec) -> Batch:
        now = spec.received_at  # so that the default expire_at is exactly created_at + 3 days
        batch = Batch(new_id(now), spec, now)
        self._batches[batch.id] = batch
        self._index_reference(batch)
        self.ledger.record(batch.id, spec.client_reference, spec.recipients)
        self._start_delivery(batch, now)
        log.debug("accepted batch %s (%d recipients)", batch.id, len(spec.recipients))
        return batch

    def batch(self, batch_id: str) -> Batch | None:
        return self._batches.get(batch_id)

    def cancel(self, batch: Batch) -> Batch:
        batch.canceled = True
        batch.modified_at = self.clock()
        self.queue.cancel(batch.delivery)
        return batch

    def replace(self, batch: Batch, spec: BatchSpec) -> Batch:
        """PUT: the queued rest of the old version is cancelled and the new one starts.

        The ledger counts the new recipients again unless the old version was not due yet.
        """
        now = self.clock()
        old = batch.delivery
        self.queue.cancel(old)
        if old.voided:
            self.ledger.amend(batch.id, old.recipients, spec.recipients)
        else:
            self.ledger.add(batch.id, spec.recipients)
        self._unindex_reference(batch)
        batch.spec = spec
        batch.canceled = False
        batch.modified_at = now
        self._index_reference(batch)
        self._start_delivery(batch, now)
        return batch

    def update(self, batch: Batch, data: object) -> Batch:
        spec = self.parse(merge_update(batch.spec.echo, data))
        now = self.clock()
        if not batch.delivery.visible(now) and batch.delivery.canceled_at is None:
            return self.replace(batch, spec)
        changed = [k for k in FIXED_ONCE_SENT if spec.echo.get(k) != batch.spec.echo.get(k)]
        if changed:
            raise constraint_violation(
                f"The batch has already been sent; cannot change {', '.join(changed)}."
            )
        self._unindex_reference(batch)
        spec.recipients = batch.spec.recipients
        batch.spec = spec
        batch.delivery.expire_at = spec.expire_at
        batch.modified_at = now
        self._index_reference(batch)
        return batch

    def select_batches(
        self,
        *,
        start: float,
        end: float | None,
        senders: set[str] | None,
        client_reference: str | None,
    ) -> list[Batch]:
        """Newest first."""
        if client_reference is not None:
            candidates = reversed(self._by_reference.get(client_reference, []))
        else:
            candidates = reversed(self._batches.values())
        chosen = []
        for batch in candidates:
            if batch.created_at < start or (end is not None and batch.created_at >= end):
                continue
            if senders is not None and batch.spec.echo.get("from") not in senders:
                continue
            chosen.append(batch)
        return chosen

    def batches_newest_first(self) -> list[Batch]:
        return list(reversed(self._batches.values()))

    def _start_delivery(self, batch: Batch, now: float) -> None:
        spec = batch.spec
        send_time = now if spec.send_at is None else max(spec.send_at, now)
        batch.delivery = Delivery(
            batch, aborted_on_dispatch(spec), send_time=send_time, expire_at=spec.expire_at
        )
        self.queue.submit(batch.delivery)

    def _index_reference(self, batch: Batch) -> None:
        if batch.client_reference is not None:
            batches = self._by_reference.setdefault(batch.client_reference, [])
            bisect.insort(batches, batch, key=lambda b: b.created_at)

    def _unindex_reference(self, batch: Batch) -> None:
        reference = batch.client_reference
        if reference is not None and batch in self._by_reference.get(reference, []):
            self._by_reference[reference].remove(batch)

    # -- control ---------------------------------------------------------------------------

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> Faults:
        self.faults = faults if isinstance(faults, Faults) else Faults.from_json(faults)
        return self.faults

    def set_number_outcomes(self, chosen: Mapping[str, Outcome]) -> dict[str, Outcome]:
        """Replace the numbers whose messages end with a chosen outcome (`number_outcomes`)."""
        self.table.choose(chosen)
        self.number_outcomes = dict(chosen)
        return self.number_outcomes

    def draw_fault(self) -> str | None:
        faults = self.faults
        draw = self.fault_rng.random()
        for kind in FAULT_KINDS:
            share: float = getattr(faults, kind)
            if draw < share:
                self.fault_counts[kind] += 1
                return kind
            draw -= share
        return None

    def inject_inbound(
        self,
        from_: str,
        to: str,
        body: str,
        client_reference: str | None = None,
        *,
        operator_id: str | None = None,
    ) -> dict[str, Any]:
        message = self.inbounds.add(
            from_,
            to,
            body,
            at=self.clock(),
            client_reference=client_reference,
            operator_id=operator_id,
        )
        url = self.config.inbound_callback_url
        if url is not None:
            self.callbacks.submit(url, message, "inbound")
        return message

    def _delivered(self, callback: Callback) -> None:
        """When an inbound callback is acknowledged, note how often its sender was texted so far.

        Runs on the simulator's loop, like batch acceptance, so the count is exact: a test can
        prove that no message to a number that texted STOP was accepted after the STOP's 2xx.
        """
        if callback.kind == "inbound":
            sender = str(callback.payload["from"])
            self.inbound_acks.append(
                {
                    "id": callback.payload["id"],
                    "from": sender,
                    "body": callback.payload["body"],
                    "accepted_before_ack": self.ledger.count(sender),
                    "ledger_position_at_ack": self.ledger.accepted,
                }
            )

    def ledger_report(self, *, full: bool = False) -> LedgerReport:
        return self.ledger.report(full=full)

    def stats(self) -> dict[str, Any]:
        return {
            "batches": len(self._batches),
            "accepted_recipients": self.ledger.accepted,
            "queue_depth": self.queue.waiting,
            "in_flight": self.queue.in_flight,
            "callbacks": {**self.callbacks.stats.to_json(), "pending": self.callbacks.pending},
            "faults": dict(self.fault_counts),
            "inbounds": len(self.inbounds),
        }

    def reset(self) -> None:
        self.queue.clear()
        self.callbacks.clear()
        self.ledger.clear()
        self.inbounds.clear()
        self.inbound_acks.clear()
        self._batches.clear()
        self._by_reference.clear()
        self.faults = self.config.faults
        self.set_number_outcomes(self.config.number_outcomes)
        self.fault_counts.clear()
