"""Flow timers: procrastinate and pgqueuer against our own set-based claim, on PostgreSQL.

N runs (100,000 by default) wait on timers that expire at the same instant; one worker process
then wakes them all. Printed per contender: the time to set the N timers, the wake-ups per
second from the worker's start to the last run moved, and the worker's peak RSS.

Every wake-up does the same minimal work, so that only the timer machinery differs: read the
run, move it to its next step and append one `flow_history` row. The libraries do it per job,
in one transaction on a connection of the task's own (neither lends its fetch transaction to
the job), then mark the job done their own way. Ours does it per chunk of 1000, as the flow
engine will: claim FOR UPDATE SKIP LOCKED, one grouped UPDATE, one multi-row INSERT, one commit.

The libraries are not textcast's dependencies: install them in a separate virtualenv (the
command is printed when they are missing). A scratch database is made for each measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    import sqlalchemy

ADMIN = os.environ.get("TEXTCAST_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "jobq_bench"
CHUNK = 1000
CONTENDERS = ("procrastinate", "pgqueuer", "outbox")
INSTALL = (
    "python3 -m venv /tmp/jobq-venv && /tmp/jobq-venv/bin/pip install procrastinate pgqueuer "
    "'psycopg[binary]' asyncpg sqlalchemy && /tmp/jobq-venv/bin/python -m bench.job_libraries"
)
SCHEMA = """
CREATE TABLE flow_runs (
    id bigint PRIMARY KEY, flow_id bigint NOT NULL, version_id bigint NOT NULL,
    contact_id bigint NOT NULL, phone text NOT NULL, status text NOT NULL,
    position text NOT NULL, waiting boolean NOT NULL, wake_at timestamptz, context jsonb);
CREATE INDEX ix_flow_runs_due ON flow_runs (wake_at) WHERE status = 'active';
CREATE TABLE flow_history (
    id bigserial PRIMARY KEY, run_id bigint NOT NULL, from_position text NOT NULL,
    to_position text NOT NULL, at timestamptz NOT NULL DEFAULT now());
INSERT INTO flow_runs
SELECT i, 1, 1, i, '+1201' || lpad(i::text, 7, '0'), 'active', 'wait-1', false, NULL, '{}'
FROM generate_series(1, %s) AS i;
"""
READ_ONE = "SELECT position FROM flow_runs WHERE id = %s AND status = 'active' FOR UPDATE"
MOVE_ONE = "UPDATE flow_runs SET position = %s, waiting = false, wake_at = NULL WHERE id = %s"
HISTORY_ONE = "INSERT INTO flow_history (run_id, from_position, to_position) VALUES (%s, %s, %s)"


def next_step(position: str) -> str:
    """The engine's decision, reduced to what every contender can do the same way."""
    return f"step-{int(position.rsplit('-', 1)[1]) + 1}"


def chunks(count: int) -> Iterator[list[int]]:
    for start in range(1, count + 1, CHUNK):
        yield list(range(start, min(start + CHUNK, count + 1)))


def dsn() -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + DATABASE


async def work_connections(count: int) -> asyncio.Queue[psycopg.AsyncConnection[Any]]:
    """The tasks' own connections: the library's fetch transaction is not theirs to use."""
    queue: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for _ in range(count):
        queue.put_nowait(await psycopg.AsyncConnection.connect(dsn(), autocommit=True))
    return queue


async def wake_one(connections: asyncio.Queue[psycopg.AsyncConnection[Any]], run_id: int) -> None:
    conn = await connections.get()
    try:
        async with conn.transaction():
            row = await (await conn.execute(READ_ONE, (run_id,))).fetchone()
            if row is not None:
                await conn.execute(MOVE_ONE, (next_step(row[0]), run_id))
                await conn.execute(HISTORY_ONE, (run_id, row[0], next_step(row[0])))
    finally:
        connections.put_nowait(conn)


async def procrastinate_enqueue(count: int, due: datetime) -> float:
    from procrastinate import App, PsycopgConnector  # type: ignore[import-not-found,unused-ignore]

    logging.getLogger("procrastinate").setLevel(logging.ERROR)  # "App in __main__": harmless
    app = App(connector=PsycopgConnector(conninfo=dsn()))
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        started = time.perf_counter()
        deferrer = app.configure_task("wake", schedule_at=due)
        for chunk in chunks(count):
            await deferrer.batch_defer_async(*({"run_id": run_id} for run_id in chunk))
        return time.perf_counter() - started


async def procrastinate_worker(args: argparse.Namespace) -> None:
    from procrastinate import App, PsycopgConnector

    connections = await work_connections(args.connections)

    async def wake(run_id: int) -> None:
        await wake_one(connections, run_id)

    # The pool holds as many connections as sub-workers, plus one, as its docs advise for
    # short jobs; the LISTEN connection is apart.
    size = args.concurrency + 1
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    app = App(connector=PsycopgConnector(conninfo=dsn(), min_size=size, max_size=size))
    app.task(name="wake")(wake)
    async with app.open_async():
        await ready()
        await app.run_worker_async(
            concurrency=args.concurrency, wait=False, fetch_job_polling_interval=0.1
        )


async def pgqueuer_enqueue(count: int, due: datetime) -> float:
    import asyncpg  # type: ignore[import-not-found,unused-ignore]
    from pgqueuer.db import AsyncpgDriver  # type: ignore[import-not-found,unused-ignore]
    from pgqueuer.queries import Queries  # type: ignore[import-not-found,unused-ignore]

    conn = await asyncpg.connect(dsn())
    try:
        queries = Queries(AsyncpgDriver(conn))
        await queries.install()
        started = time.perf_counter()
        for chunk in chunks(count):
            after = due - datetime.now(UTC)  # pgqueuer takes a delay from now, not an instant
            payloads = [str(run_id).encode() for run_id in chunk]
            await queries.enqueue(
                ["wake"] * len(chunk), payloads, [0] * len(chunk), [after] * len(chunk)
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def pgqueuer_worker(args: argparse.Namespace) -> None:
    import asyncpg
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.qm import QueueManager  # type: ignore[import-not-found,unused-ignore]
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode  # type: ignore[import-not-found,unused-ignore]

    connections = await work_connections(args.connections)

    async def wake(job: Any) -> None:
        await wake_one(connections, int(job.payload))

    # One dedicated asyncpg connection for the manager, as its tuning guide advises.
    manager = QueueManager(Queries(AsyncpgDriver(await asyncpg.connect(dsn()))))
    manager.entrypoint("wake")(wake)
    await ready()
    await manager.run(
        batch_size=args.batch_size,
        max_concurrent_tasks=args.max_tasks or None,
        mode=QueueExecutionMode.drain,
        dequeue_timeout=timedelta(seconds=0.1),
    )


def outbox() -> tuple[sqlalchemy.Engine, sqlalchemy.TableClause, sqlalchemy.TableClause]:
    import sqlalchemy as sa

    engine = sa.create_engine(dsn().replace("postgresql://", "postgresql+psycopg://"))
    runs = sa.table(
        "flow_runs", *map(sa.column, ("id", "status", "position", "waiting", "wake_at"))
    )
    history = sa.table("flow_history", *map(sa.column, ("run_id", "from_position", "to_position")))
    return engine, runs, history


def outbox_enqueue(count: int, due: datetime) -> float:
    engine, runs, _ = outbox()
    started = time.perf_counter()
    for chunk in chunks(count):
        with engine.begin() as conn:
            conn.execute(
                runs.update().where(runs.c.id.in_(chunk)).values(waiting=True, wake_at=due)
            )
    return time.perf_counter() - started


def outbox_claim(
    engine: sqlalchemy.Engine, runs: sqlalchemy.TableClause, history: sqlalchemy.TableClause
) -> int:
    """One chunk of the leader's claim, in the shape the flow engine will have."""
    import sqlalchemy as sa

    due = (runs.c.status == "active") & (runs.c.wake_at <= sa.func.now())
    claim = sa.select(runs.c.id, runs.c.position).where(due).order_by(runs.c.wake_at).limit(CHUNK)
    with engine.begin() as conn:
        claimed = conn.execute(claim.with_for_update(skip_locked=True)).all()
        moving: dict[str, list[int]] = defaultdict(list)
        for run_id, position in claimed:
            moving[next_step(position)].append(run_id)
        for position, ids in moving.items():
            values = {"position": position, "waiting": False, "wake_at": None}
            conn.execute(runs.update().where(runs.c.id.in_(ids)).values(values))
        rows = [{"run_id": i, "from_position": p, "to_position": next_step(p)} for i, p in claimed]
        if rows:
            conn.execute(history.insert(), rows)
    return len(claimed)


async def outbox_worker(args: argparse.Namespace) -> None:
    engine, runs, history = outbox()
    engine.connect().close()  # connected before the clock starts, as the libraries' workers are
    await ready()
    while outbox_claim(engine, runs, history):
        pass


async def ready() -> None:
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    print(time.time(), flush=True)  # the clock starts now, when every timer is already due


def measure(name: str, args: argparse.Namespace) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    try:
        with psycopg.connect(dsn(), autocommit=True) as conn:
            conn.execute(SCHEMA.replace("%s", str(int(args.timers))))
        due = datetime.now(UTC) + timedelta(seconds=1)
        if name == "outbox":
            enqueue = outbox_enqueue(args.timers, due)
        else:
            enqueue = asyncio.run(ENQUEUE[name](args.timers, due))
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        with psycopg.connect(dsn(), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        options = [f"--{key.replace('_', '-')}={getattr(args, key)}" for key in WORKER_OPTIONS]
        command = [sys.executable, __file__, "--worker", name, *options]
        worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert worker.stdin is not None and worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        worker.stdin.write("go\n")
        worker.stdin.flush()
        started = float(worker.stdout.readline())
        result = json.loads(worker.stdout.readline())
        if worker.wait() != 0:
            raise SystemExit(f"{name}: the worker failed")
        seconds = result["finished"] - started
        with psycopg.connect(dsn()) as conn:
            moved = conn.execute("SELECT count(DISTINCT run_id) FROM flow_history").fetchone()
            left = conn.execute("SELECT count(*) FROM flow_runs WHERE waiting").fetchone()
        if moved != (args.timers,) or left != (0,):
            raise SystemExit(f"{name}: {moved} runs moved, {left} still waiting")
        return (
            f"{name}: {args.timers} timers, enqueue {enqueue:.1f} s, "
            f"{args.timers / seconds:,.0f} wake-ups/s ({seconds:.1f} s), "
            f"peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


ENQUEUE = {"procrastinate": procrastinate_enqueue, "pgqueuer": pgqueuer_enqueue}
WORKERS = {"procrastinate": procrastinate_worker, "pgqueuer": pgqueuer_worker}
WORKER_OPTIONS = ("concurrency", "batch_size", "max_tasks", "connections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1, help="each round alternates the order")
    parser.add_argument("--only", choices=CONTENDERS, action="append")
    parser.add_argument("--concurrency", type=int, default=10, help="procrastinate sub-workers")
    parser.add_argument("--batch-size", type=int, default=10, help="pgqueuer's batch size")
    parser.add_argument("--max-tasks", type=int, default=0, help="pgqueuer's, 0: no limit")
    parser.add_argument("--connections", type=int, default=10, help="the tasks' connections")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(WORKERS.get(args.worker, outbox_worker)(args))
        # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
        status = Path("/proc/self/status").read_text()
        peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
        print(json.dumps({"finished": time.time(), "peak_rss_mb": peak}), flush=True)
        return
    contenders = args.only or list(CONTENDERS)
    missing = [m for m in ("procrastinate", "pgqueuer", "asyncpg") if not find_spec(m)]
    if missing and set(contenders) & {"procrastinate", "pgqueuer"}:
        print(f"job_libraries: skipped, {', '.join(missing)} not installed; run: {INSTALL}")
        return
    for round_ in range(args.rounds):
        shift = round_ % len(contenders)
        for name in contenders[shift:] + contenders[:shift]:
            print(measure(name, args), flush=True)


if __name__ == "__main__":
    main()
