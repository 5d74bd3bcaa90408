"""Flows: 100,000 contacts entering a welcome flow at once, a worker against the simulator.

The flow sends "Welcome {{ first_name }}", waits a day, and sends an offer. Prints one line
each for: the time from the runs' entry to the simulator's ledger holding every first text;
wake-ups per second when the day's wait ends for all the runs together (the wait is made to
end by moving its runs' `wake_at` to now in one UPDATE; measured from the engine's first chunk
to the moment no run is left active); and the worker's peak RSS (sampled throughout).
Targets on a 2-core machine with PostgreSQL: >= 10,000 wake-ups/s, RSS <= 200 MB.

The runs are entered set-based (one INSERT ... SELECT into flow_runs, as `flows.enter` would
write them one by one): this measures the engine, not the triggers.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
from sqlalchemy import func, insert, literal, select, text, update

from bench.common import drop_database, free_port, fresh_database, numbers, start, wait_for_http
from bench.dispatch import ALWAYS_OPEN
from textcast.db import Database
from textcast.domain import flows
from textcast.models import Contact, ContactStatus, Flow, FlowRun, RunStatus

FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
WELCOME = {
    "trigger": {"type": "subscribed"},
    "steps": [
        {
            "id": "welcome",
            "type": "send",
            "body": "Welcome {{ first_name }}!",
        },
        {"id": "day", "type": "wait", "for": "1d"},
        {"id": "offer", "type": "send", "body": "10% off your first order this week."},
    ],
}


def prepare(url: str, contacts: int, definition: dict[str, Any] | None = None) -> int:
    """`contacts` subscribed US contacts (bulk INSERT) and a live flow (the welcome flow
    unless `definition`); its id."""
    database = Database(url)
    try:
        with database.write() as session:
            for begin in range(0, contacts, 10_000):
                session.execute(
                    insert(Contact),
                    [
                        {
                            "phone": phone,
                            "first_name": FIRST_NAMES[(begin + i) % len(FIRST_NAMES)],
                            "country": "US",
                            "time_zone": "America/New_York",
                            "status": ContactStatus.SUBSCRIBED,
                            "attributes": {},
                        }
                        for i, phone in enumerate(numbers(contacts)[begin : begin + 10_000])
                    ],
                )
        with database.write() as session:
            flow = flows.create_flow(session, "Welcome", definition or WELCOME, publish=True)
            return flow.flow.id
    finally:
        database.dispose()


def enter_everyone(database: Database, flow_id: int, now: datetime) -> int:
    """Every contact starts a run of the flow, due now, in one INSERT ... SELECT."""
    with database.write() as session:
        flow = session.get(Flow, flow_id)
        assert flow is not None and flow.version_id is not None
        first = flows.program_of(session, flow.version_id).definition.first
        session.execute(
            insert(FlowRun).from_select(
                [
                    "flow_id",
                    "version_id",
                    "contact_id",
                    "phone",
                    "entry",
                    "status",
                    "position",
                    "wake_at",
                    "waiting",
                    "context",
                    "started_at",
                    "updated_at",
                ],
                select(
                    literal(flow_id),
                    literal(flow.version_id),
                    Contact.id,
                    Contact.phone,
                    literal(1),
                    literal(str(RunStatus.ACTIVE)),
                    literal(first),
                    literal(now),
                    literal(False),
                    text("'{}'"),
                    literal(now),
                    literal(now),
                ),
            )
        )
        return int(session.scalar(select(func.count()).select_from(FlowRun)) or 0)


def end_the_wait(database: Database, now: datetime) -> int:
    """The day's wait is over for every run resting in it, at once."""
    with database.write() as session:
        ended = session.scalars(
            update(FlowRun)
            .where(FlowRun.status == RunStatus.ACTIVE, FlowRun.waiting.is_(True))
            .values(wake_at=now)
            .returning(FlowRun.id)
        )
        return len(ended.all())


def count(database: Database, query: Callable[[], object]) -> int:
    with database.read() as session:
        return int(session.scalar(query()) or 0)  # type: ignore[call-overload]


def waiting_runs() -> object:
    return select(func.count()).select_from(FlowRun).where(FlowRun.waiting.is_(True))


def active_runs() -> object:
    return select(func.count()).select_from(FlowRun).where(FlowRun.status == RunStatus.ACTIVE)


class Sampler:
    """The worker's peak RSS, looked at whenever the bench polls."""

    def __init__(self, worker: subprocess.Popen[bytes]) -> None:
        self.worker = worker
        self.process = psutil.Process(worker.pid)
        self.peak = self.process.memory_info().rss

    def sample(self) -> None:
        if self.worker.poll() is not None:
            raise SystemExit("the worker died")
        self.peak = max(self.peak, self.process.memory_info().rss)


def ledger_count(simulator_url: str) -> int:
    stats = httpx.get(f"{simulator_url}/_simulator/stats", timeout=10).json()
    return int(stats["accepted_recipients"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    args = parser.parse_args()
    n = args.contacts

    url = fresh_database(args.database)
    database = Database(url)
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start(["simulator", "--port", str(port)])
    worker = None
    try:
        wait_for_http(f"{simulator_url}/_simulator/stats")
        flow_id = prepare(url, n)
        worker = start(
            ["worker", "--log-level", "warning"],
            {
                "DATABASE_URL": url,
                "SINCH_SERVICE_PLAN_ID": "simulated",
                "SINCH_API_TOKEN": "simulated-token",
                "SINCH_BASE_URL": simulator_url,
                "SEND_RATE": "0",
                "DELIVERY_REPORT": "none",
                "DISPATCHER_POLL_SECONDS": "0.02",
                "QUIET_HOURS": "00:00-24:00",
                "QUIET_HOURS_RULES": ALWAYS_OPEN,
            },
        )
        sampler = Sampler(worker)
        time.sleep(1.5)  # the worker is up and idle
        sampler.sample()

        # 1. Everyone enters; the first texts reach the simulator.
        entered_at = time.time()
        entered = enter_everyone(database, flow_id, datetime.now(UTC))
        assert entered == n, entered
        deadline = time.monotonic() + args.timeout
        while (accepted := ledger_count(simulator_url)) < n:
            sampler.sample()
            if time.monotonic() > deadline:
                raise SystemExit(f"only {accepted:,} of {n:,} first texts were accepted")
            time.sleep(0.05)
        first_texts = time.time() - entered_at
        # Every run rests in the wait once its text is queued; the texts may overtake that.
        while count(database, waiting_runs) < n:
            sampler.sample()
            time.sleep(0.05)

        # 2. The day is over for all of them at once.
        assert end_the_wait(database, datetime.now(UTC)) == n
        expired_at = time.time()
        deadline = time.monotonic() + args.timeout
        while count(database, active_runs):
            sampler.sample()
            if time.monotonic() > deadline:
                raise SystemExit("the runs did not all move past the wait")
            time.sleep(0.05)
        done_at = time.time()
        with database.read() as session:
            first_woken = session.scalar(select(func.min(FlowRun.ended_at)))
            completed = session.scalar(
                select(func.count())
                .select_from(FlowRun)
                .where(FlowRun.status == RunStatus.COMPLETED)
            )
        assert first_woken is not None and completed == n, completed
        seconds = done_at - first_woken.timestamp()
        while ledger_count(simulator_url) < 2 * n:  # the offers go out too, RSS and all
            sampler.sample()
            time.sleep(0.05)
        sampler.sample()

        label = f"flows[{args.database}]"
        print(f"{label}: every first text accepted {first_texts:.2f}s after {n:,} runs entered")
        print(
            f"{label}: {n / seconds:,.0f} wake-ups/s ({n:,} runs past the wait in "
            f"{seconds:.2f}s from the first chunk, which began "
            f"{first_woken.timestamp() - expired_at:.2f}s after the wait ended)"
        )
        print(f"{label}: worker peak RSS {sampler.peak / 2**20:.0f} MB")
    finally:
        for child in (worker, simulator):
            if child is not None:
                child.terminate()
                child.wait(10)
        database.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
