"""One flow engine leads per database; a standby takes over when the leader stops, and the
dispatcher's lock is not the flow engine's."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from tests.flows.helpers import contact, flow, policy

from textcast.db import Database
from textcast.domain import flows
from textcast.models import FlowRun, RunStatus
from textcast.sending.flow_engine import FlowEngine
from textcast.sending.leadership import DispatcherLock

GREETING = {"trigger": {"type": "subscribed"}, "steps": [{"type": "send", "body": "Hello"}]}


async def _until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def test_a_standby_flow_engine_takes_over_when_the_leader_stops(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    rules = policy()
    flow(first, GREETING)

    def enter(phone: str) -> None:
        who = contact(first, phone)
        with first.write() as session:
            flows.on_subscribed(session, flows.Entrant(who, phone), [])

    def done(phone: str) -> bool:
        with first.read() as session:
            run = session.query(FlowRun).filter_by(phone=phone).one()
            return run.status == RunStatus.COMPLETED

    async def scenario() -> None:
        leader = FlowEngine(first, policy_source=lambda: rules, poll_seconds=0.05)
        standby = FlowEngine(second, policy_source=lambda: rules, poll_seconds=0.05)
        # The dispatcher's lock held elsewhere does not keep a flow engine from leading.
        dispatcher_lock = DispatcherLock(second)
        assert await asyncio.to_thread(dispatcher_lock.try_acquire)
        stop_leader, stop_standby = asyncio.Event(), asyncio.Event()
        leading = asyncio.create_task(leader.run(stop_leader))
        await _until(lambda: leader.leading, "the first engine never led")
        standing = asyncio.create_task(standby.run(stop_standby))
        await asyncio.sleep(0.3)
        assert not standby.leading
        await asyncio.to_thread(enter, "+12015550601")
        await _until(lambda: done("+12015550601"), "the leader did not move the run on")
        stop_leader.set()
        await leading
        await _until(lambda: standby.leading, "the standby never took over")
        await asyncio.to_thread(enter, "+12015550602")
        await _until(lambda: done("+12015550602"), "the new leader did not move the run on")
        stop_standby.set()
        await standing
        await asyncio.to_thread(dispatcher_lock.release)

    try:
        asyncio.run(scenario())
    finally:
        first.dispose()
        second.dispose()


def test_an_idle_flow_engine_takes_no_write_transaction(database: Database) -> None:
    """Polled every second, an engine with nothing due must not queue for the writer (on
    SQLite the one write lock, which the webhooks' group commit needs)."""
    flow(database, GREETING)  # live, with nothing due
    engine = FlowEngine(database, policy_source=policy)
    with database.write():
        # Another writer holds the lock meanwhile: an idle tick must not wait for it.
        ticked = threading.Thread(target=engine.tick, daemon=True)
        ticked.start()
        ticked.join(timeout=5)
        alive = ticked.is_alive()
    ticked.join()
    assert not alive, "an idle tick waited for the write lock"
    assert engine.totals.chunks == 0
