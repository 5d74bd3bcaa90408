"""What the event stream hears of runs: `flow.run_started` and `flow.run_ended`, one
`record_many` per statement that starts or ends runs (an import's INSERT .. SELECT included)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from textcast.domain import stream
from textcast.models import EventType, RunStatus

RunOf = tuple[int, int, int, str]
"""(flow id, run id, contact id, phone) of a run."""


def announce_started(executor: Session | Connection, runs: Iterable[RunOf], now: datetime) -> None:
    at = stream.timestamp(now)
    stream.record_many(
        executor,
        EventType.FLOW_RUN_STARTED,
        [
            {
                "flow_id": flow_id,
                "run_id": run_id,
                "contact_id": contact_id,
                "phone": phone,
                "started_at": at,
            }
            for flow_id, run_id, contact_id, phone in runs
        ],
        at=now,
    )


def announce_ended(
    executor: Session | Connection, runs: Iterable[RunOf], outcome: RunStatus, now: datetime
) -> None:
    at = stream.timestamp(now)
    stream.record_many(
        executor,
        EventType.FLOW_RUN_ENDED,
        [
            {
                "flow_id": flow_id,
                "run_id": run_id,
                "contact_id": contact_id,
                "phone": phone,
                "outcome": str(outcome),
                "ended_at": at,
            }
            for flow_id, run_id, contact_id, phone in runs
        ],
        at=now,
    )
