"""SIGKILL the worker at random moments while a flow's runs send, wait and send again: every
run's every send step reaches the simulator exactly once, and every run completes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from bench.dispatch import ALWAYS_OPEN
from bench.flows import enter_everyone, prepare
from sqlalchemy import func, select
from tests.factories import numbers

from textcast.db import Database
from textcast.models import FlowRun, FlowRunStep, Message, MessageStatus, RunStatus, utcnow
from textcast.simulator import Faults, RunningSimulator, SimulatorConfig, running_simulator

TWO_TEXTS = {
    "trigger": {"type": "subscribed"},
    "steps": [
        {"id": "hello", "type": "send", "body": "Welcome {{ first_name }}!"},
        {"id": "pause", "type": "wait", "for": "2s"},
        {"id": "offer", "type": "send", "body": "10% off this week"},
    ],
}
STEP_OF_BODY = {"Welcome ${first_name}!": "hello", "10% off this week": "offer"}
"""The bodies Sinch receives: the welcome is personalised through `parameters`."""


def _worker(database_url: str, simulator_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SINCH_SERVICE_PLAN_ID": "simulated",
        "SINCH_API_TOKEN": "simulated-token",
        "SINCH_BASE_URL": simulator_url,
        "SEND_RATE": "5000",
        "BATCH_SIZE": "250",
        "DELIVERY_REPORT": "none",
        "DISPATCHER_POLL_SECONDS": "0.05",
        # The contacts are in New York: the send window is open at any hour of the test.
        "QUIET_HOURS": "00:00-24:00",
        "QUIET_HOURS_RULES": ALWAYS_OPEN,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "textcast", "worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _progress(database: Database, sim: RunningSimulator) -> tuple[int, int]:
    """History rows written by the engine, recipients accepted by the simulator."""
    with database.read() as session:
        steps = session.scalar(select(func.count()).select_from(FlowRunStep)) or 0
    return steps, sim.ledger(full=False).accepted_recipients


def _wait_until_moving(database: Database, sim: RunningSimulator) -> None:
    """Start-up takes a moment (longer on a busy machine): kill only once work is done."""
    before = _progress(database, sim)
    deadline = time.monotonic() + 30
    while _progress(database, sim) == before and time.monotonic() < deadline:
        time.sleep(0.02)


def _finished(database: Database, runs: int) -> bool:
    with database.read() as session:
        completed = session.scalar(
            select(func.count()).select_from(FlowRun).where(FlowRun.status == RunStatus.COMPLETED)
        )
        accepted = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.status == MessageStatus.ACCEPTED)
        )
    return completed == runs and accepted == 2 * runs


def _texts_per_step(sim: RunningSimulator) -> Counter[tuple[str, str]]:
    """(number, step) of every recipient the simulator accepted, by the batch's body."""

    def read() -> Counter[tuple[str, str]]:
        counted: Counter[tuple[str, str]] = Counter()
        for accepted in sim.state.ledger.history:
            batch = sim.state.batch(accepted.batch_id)
            assert batch is not None
            step = STEP_OF_BODY[batch.spec.body]
            counted.update((f"+{n.removeprefix('+')}", step) for n in accepted.recipients)
        return counted

    return sim.call(read)


def _kill_during_a_flow(
    engine_name: str, database: Database, database_url: str, runs: int, kills: int
) -> None:
    if engine_name != "postgresql":
        pytest.skip("scale-out and its crash recovery are PostgreSQL's")
    rng = random.Random(20261207)
    flow_id = prepare(database_url, runs, TWO_TEXTS)
    # Slow answers keep batches in flight, so the kills land inside the protocol's windows.
    simulator = SimulatorConfig(faults=Faults(latency=(0.02, 0.2)), seed=7)
    with running_simulator(simulator) as sim:
        assert enter_everyone(database, flow_id, utcnow()) == runs
        for _ in range(kills):
            worker = _worker(database_url, sim.base_url)
            _wait_until_moving(database, sim)
            time.sleep(rng.uniform(0.0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        worker = _worker(database_url, sim.base_url)
        try:
            deadline = time.monotonic() + 240
            while not _finished(database, runs):
                assert time.monotonic() < deadline, "the flow did not finish after the kills"
                assert worker.poll() is None, "the worker died"
                time.sleep(0.2)
            time.sleep(1.0)  # a resend, had there been one, would reach the ledger by now
        finally:
            worker.terminate()
            worker.wait(10)
        texts = _texts_per_step(sim)
        ledger = sim.ledger(full=False)

    expected = {(phone, step): 1 for phone in numbers(runs) for step in ("hello", "offer")}
    assert {key: n for key, n in texts.items() if n != 1} == {}
    assert dict(texts) == expected
    assert ledger.accepted_recipients == 2 * runs
    assert ledger.duplicate_client_references == {}
    with database.read() as session:
        outcomes = dict(
            session.execute(
                select(FlowRunStep.outcome, func.count()).group_by(FlowRunStep.outcome)
            ).all()
        )
    # Each step reached once per run: a killed chunk left no history behind it.
    assert outcomes == {"sent": 2 * runs, "waiting": runs}


def test_killing_the_worker_during_a_flow_neither_duplicates_nor_loses_a_step(
    engine_name: str, database: Database, database_url: str
) -> None:
    _kill_during_a_flow(engine_name, database, database_url, runs=2_000, kills=3)


@pytest.mark.soak
def test_ten_kills_during_a_20000_run_flow_neither_duplicate_nor_lose_a_step(
    engine_name: str, database: Database, database_url: str
) -> None:
    _kill_during_a_flow(engine_name, database, database_url, runs=20_000, kills=10)
