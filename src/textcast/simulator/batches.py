"""Accepted batches and where each of their recipients is."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from textcast.simulator.batch_requests import BatchSpec
from textcast.simulator.encoding import measure_body
from textcast.simulator.ids import format_timestamp
from textcast.simulator.statuses import (
    CANCELLED,
    DISPATCHED,
    PARTS_LIMIT,
    UNMATCHED_PARAMETER,
)

# Sinch's own field order for a batch; anything else the request carried follows.
_LEADING = ("to", "from")
_MIDDLE = ("body", "type")


@dataclass(slots=True, eq=False)
class Run:
    """Recipients `start..end-1` of a delivery that left the plan queue together."""

    start: int
    end: int
    dispatched_at: float
    final_at: float
    finalized: bool = False


class Delivery:
    """One version of a batch going out (a PUT replaces it); one state byte per recipient."""

    def __init__(
        self, batch: Batch, presets: dict[int, int], *, send_time: float, expire_at: float
    ) -> None:
        self.batch = batch
        self.recipients = batch.spec.recipients
        self.states = bytearray(len(self.recipients))  # all QUEUED
        self.presets = presets
        self._preset_order = sorted(presets)
        self.send_time = send_time
        self.expire_at = expire_at
        self.enqueued_at: float | None = None
        self.dispatched = 0
        self.runs: list[Run] = []
        self._run_starts: list[int] = []
        self.final_count = 0
        self.canceled_at: float | None = None
        self.voided = False
        self.completed = False

    @property
    def size(self) -> int:
        return len(self.recipients)

    def visible(self, now: float) -> bool:
        # A scheduled batch has no report until it is due, and none at all if cancelled before.
        return not self.voided and now >= self.send_time

    def presets_between(self, start: int, end: int) -> list[int]:
        if not self._preset_order:
            return []
        first = bisect_right(self._preset_order, start - 1)
        last = bisect_right(self._preset_order, end - 1)
        return self._preset_order[first:last]

    def add_run(self, run: Run) -> None:
        self.runs.append(run)
        self._run_starts.append(run.start)

    def at_of(self, index: int) -> float:
        state = self.states[index]
        if state == CANCELLED and self.canceled_at is not None and index >= self.dispatched:
            return self.canceled_at
        if index >= self.dispatched:
            return self.send_time if self.enqueued_at is None else self.enqueued_at
        run = self.runs[bisect_right(self._run_starts, index) - 1]
        if state == DISPATCHED or index in self.presets or not run.finalized:
            return run.dispatched_at
        return run.final_at

    def index_of(self, recipient: str) -> int | None:
        try:
            return self.recipients.index(recipient.removeprefix("+"))
        except ValueError:
            return None


class Batch:
    def __init__(self, batch_id: str, spec: BatchSpec, created_at: float) -> None:
        self.id = batch_id
        self.spec = spec
        self.created_at = created_at
        self.modified_at = created_at
        self.canceled = False
        self.delivery: Delivery

    @property
    def client_reference(self) -> str | None:
        return self.spec.client_reference

    def to_json(self) -> dict[str, Any]:
        echo = self.spec.echo
        result: dict[str, Any] = {"id": self.id}
        result.update((k, echo[k]) for k in _LEADING if k in echo)
        result["canceled"] = self.canceled
        result.update((k, echo[k]) for k in _MIDDLE if k in echo)
        result["created_at"] = format_timestamp(self.created_at)
        result["modified_at"] = format_timestamp(self.modified_at)
        result.update((k, v) for k, v in echo.items() if k not in result)
        return result


def aborted_on_dispatch(spec: BatchSpec) -> dict[int, int]:
    """Recipients Sinch aborts, not sends: unmatched parameter (405), too many parts (411)."""
    template = spec.template()
    limit = None if spec.truncate_concat or spec.type != "mt_text" else spec.max_parts
    if not template.varies and limit is None:
        return {}
    presets: dict[int, int] = {}
    if template.always_matches and limit is None:
        return presets
    if not template.varies:
        assert limit is not None
        if measure_body(spec.body).parts > limit:
            return dict.fromkeys(range(len(spec.recipients)), PARTS_LIMIT)
        return {}
    for index, recipient in enumerate(spec.recipients):
        if not template.matches(recipient):
            presets[index] = UNMATCHED_PARAMETER
        elif limit is not None:
            body = template.render(recipient) or ""
            if measure_body(body).parts > limit:
                presets[index] = PARTS_LIMIT
    return presets
