"""The status/code pairs a recipient can be in, numbered so one byte holds a recipient's state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textcast.simulator.config import Outcome


@dataclass(frozen=True, slots=True)
class Status:
    status: str
    code: int
    final: bool
    operator: bool = False


MAX_STATES = 256
"""One byte holds a recipient's state."""

QUEUED, DISPATCHED, CANCELLED, UNMATCHED_PARAMETER, INTERNAL_EXPIRY, PARTS_LIMIT = range(6)

_FIXED = (
    Status("Queued", 400, final=False),
    Status("Dispatched", 401, final=False),
    Status("Cancelled", 407, final=True),
    Status("Aborted", 405, final=True),
    Status("Aborted", 406, final=True),
    Status("Aborted", 411, final=True),
)


class StatusTable:
    """Fixed Sinch states first, then the configured outcomes (drawn by weight on finalising),
    then the outcomes chosen for some numbers (`number_outcomes`), which are never drawn."""

    def __init__(
        self, outcomes: Sequence[Outcome], number_outcomes: Mapping[str, Outcome] | None = None
    ) -> None:
        drawn = tuple(Status(o.status, o.code, final=True, operator=o.operator) for o in outcomes)
        self.entries: tuple[Status, ...] = _FIXED + drawn
        self.outcome_states = list(range(len(_FIXED), len(self.entries)))
        self.number_states: dict[str, int] = {}
        """The state each chosen number ends in, by number without `+` (as batches keep them)."""
        self.choose(number_outcomes or {})
        total = 0.0
        self.cumulative_shares: list[float] = []
        for outcome in outcomes:
            total += outcome.share
            self.cumulative_shares.append(total)

    def choose(self, number_outcomes: Mapping[str, Outcome]) -> None:
        """From now on, these numbers end with these outcomes (and no other number does).
        Entries are only ever added, so that recipients already final keep their meaning."""
        states: dict[str, int] = {}
        for number, outcome in number_outcomes.items():
            status = Status(outcome.status, outcome.code, final=True, operator=outcome.operator)
            if status not in self.entries:
                if len(self.entries) >= MAX_STATES:
                    raise ValueError("too many different outcomes chosen for numbers")
                self.entries += (status,)
            states[number.removeprefix("+")] = self.entries.index(status)
        self.number_states = states

    def __getitem__(self, state: int) -> Status:
        return self.entries[state]

    def matching(self, statuses: set[str] | None, codes: set[int] | None) -> set[int]:
        return {
            index
            for index, entry in enumerate(self.entries)
            if (statuses is None or entry.status in statuses)
            and (codes is None or entry.code in codes)
        }
