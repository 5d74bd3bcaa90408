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
        chosen = {
            Status(o.status, o.code, final=True, operator=o.operator): None
            for o in (number_outcomes or {}).values()
        }
        self.entries: tuple[Status, ...] = _FIXED + drawn + tuple(chosen)
        self.outcome_states = list(range(len(_FIXED), len(_FIXED) + len(drawn)))
        first_chosen = len(_FIXED) + len(drawn)
        state_of = {status: first_chosen + i for i, status in enumerate(chosen)}
        self.number_states: dict[str, int] = {
            number.removeprefix("+"): state_of[
                Status(o.status, o.code, final=True, operator=o.operator)
            ]
            for number, o in (number_outcomes or {}).items()
        }
        """The state each chosen number ends in, by number without `+` (as batches keep them)."""
        total = 0.0
        self.cumulative_shares: list[float] = []
        for outcome in outcomes:
            total += outcome.share
            self.cumulative_shares.append(total)

    def __getitem__(self, state: int) -> Status:
        return self.entries[state]

    def matching(self, statuses: set[str] | None, codes: set[int] | None) -> set[int]:
        return {
            index
            for index, entry in enumerate(self.entries)
            if (statuses is None or entry.status in statuses)
            and (codes is None or entry.code in codes)
        }
