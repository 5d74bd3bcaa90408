"""Every recipient the simulator accepted, so tests can prove "nothing texted twice"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LedgerReport:
    accepted_recipients: int
    distinct_recipients: int
    batches: int
    duplicates: dict[str, int]
    duplicate_client_references: dict[str, int]
    recipients: dict[str, int] = field(default_factory=dict)
    batch_recipients: dict[str, int] = field(default_factory=dict)

    def count(self, recipient: str) -> int:
        return self.recipients.get(recipient.removeprefix("+"), 0)

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "accepted_recipients": self.accepted_recipients,
            "distinct_recipients": self.distinct_recipients,
            "batches": self.batches,
            "duplicates": [{"recipient": r, "count": c} for r, c in self.duplicates.items()],
            "duplicate_client_references": [
                {"client_reference": r, "count": c}
                for r, c in self.duplicate_client_references.items()
            ],
        }
        if self.recipients:
            result["recipients"] = self.recipients
            result["batch_recipients"] = self.batch_recipients
        return result


@dataclass(frozen=True, slots=True)
class AcceptedBatch:
    position: int
    """Recipients accepted before this batch: compare with an inbound's `ledger_position_at_ack`."""
    batch_id: str
    client_reference: str | None
    recipients: list[str]


class Ledger:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # Recipient lists are kept as accepted and counted only when asked: counting 1000 fresh
        # strings into a large Counter costs more than the rest of a send request.
        self._unfolded: list[list[str]] = []
        self._counted: Counter[str] = Counter()
        self._references: Counter[str] = Counter()
        self._batches: Counter[str] = Counter()
        self.accepted = 0
        self.history: list[AcceptedBatch] = []
        """Every accepted batch in order, with the ledger's running total before it."""

    def record(self, batch_id: str, client_reference: str | None, recipients: list[str]) -> None:
        if client_reference is not None:
            self._references[client_reference] += 1
        self.history.append(AcceptedBatch(self.accepted, batch_id, client_reference, recipients))
        self.add(batch_id, recipients)

    @property
    def _recipients(self) -> Counter[str]:
        if self._unfolded:
            for recipients in self._unfolded:
                self._counted.update(recipients)
            self._unfolded.clear()
        return self._counted

    def add(self, batch_id: str, recipients: list[str]) -> None:
        self._unfolded.append(recipients)
        self._batches[batch_id] += len(recipients)
        self.accepted += len(recipients)

    def amend(self, batch_id: str, before: Iterable[str], after: Iterable[str]) -> None:
        """A batch changed before it was due: nothing was sent, so count only the difference."""
        old, new = Counter(before), Counter(after)
        added, removed = new - old, old - new
        counted = self._recipients
        counted.update(added)
        counted.subtract(removed)
        self._counted = +counted
        change = sum(added.values()) - sum(removed.values())
        self._batches[batch_id] += change
        self.accepted += change

    def count(self, recipient: str) -> int:
        return self._recipients.get(recipient.removeprefix("+"), 0)

    def duplicates(self) -> dict[str, int]:
        found = [(r, c) for r, c in self._recipients.items() if c > 1]
        return dict(sorted(found, key=lambda item: -item[1]))

    def report(self, *, full: bool = False) -> LedgerReport:
        return LedgerReport(
            accepted_recipients=self.accepted,
            distinct_recipients=len(self._recipients),
            batches=len(self._batches),
            duplicates=self.duplicates(),
            duplicate_client_references={r: c for r, c in self._references.items() if c > 1},
            recipients=dict(self._recipients) if full else {},
            batch_recipients=dict(self._batches) if full else {},
        )
