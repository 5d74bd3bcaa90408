"""SIGKILL the worker around an A/B test's decision, and while the winner goes to the rest: the
test is decided once, the rest launched once, and every number gets exactly one text."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from tests.factories import numbers

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.campaigns.lifecycle import FINISHED
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.models import AbFallback, AbMetric, AbState, AbTest, Campaign, Message
from textcast.simulator import Faults, SimulatorConfig, running_simulator

BODIES = (
    "Spring sale A: 20% off today. Reply STOP to opt out.",
    "Spring sale B: last day for 20% off. Reply STOP to opt out.",
)
POLICY = Policy(
    prices=PriceTable({"US": 0.01}, currency="USD"),
    rules=Rules.from_table("00:00-24:00", {}),
    send_rate=0,
)


class Worker:
    """`textcast worker` as a process of its own; `started` is set once its dispatcher leads
    (its log says so), so that kills are timed from there rather than from the interpreter's
    start-up, which a busy machine makes slow."""

    def __init__(self, database_url: str, simulator_url: str) -> None:
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
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "textcast", "worker", "--log-level", "info"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.started = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # read to the end: a full pipe would block it
            if b"dispatcher started" in line:
                self.started.set()

    def wait_until_started(self) -> None:
        assert self.started.wait(60), "the worker did not start"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@dataclass(frozen=True, slots=True)
class Progress:
    state: AbState
    pool_done: bool
    """Every cell has handed its texts over: the next due tick decides."""
    rest_messages: int
    accepted: int


def _progress(database: Database, campaign_id: int, rest_id: int) -> Progress:
    with database.read() as session:
        test = session.get(AbTest, campaign_id)
        assert test is not None
        open_cells = session.scalar(
            select(func.count())
            .select_from(Campaign)
            .where(
                Campaign.parent_id == campaign_id,
                Campaign.variant.is_not(None),
                Campaign.id != rest_id,
                Campaign.status.not_in(FINISHED),
            )
        )
        rest_messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == rest_id)
        )
        accepted = session.scalar(
            select(func.count()).select_from(Message).where(Message.sent_at.is_not(None))
        )
    return Progress(test.state, open_cells == 0, rest_messages or 0, accepted or 0)


def _deciding(database: Database, campaign_id: int, timeout: float = 30.0) -> bool:
    """Wait until the worker holds the test's row lock (its due tick has the test's pool sent
    and decides in the same transaction); False if the test was decided unseen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with database.write() as session:
                test = session.scalars(
                    select(AbTest)
                    .where(AbTest.campaign_id == campaign_id)
                    .with_for_update(nowait=True)
                ).one()
                if test.state != AbState.TESTING:
                    return False
        except OperationalError:  # the lock is taken
            return True
        time.sleep(0.002)
    raise AssertionError("the worker never decided")


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _launch(database: Database, audience: int) -> tuple[int, int]:
    draft = campaigns.CampaignDraft("Spring", BODIES[0], numbers(audience))
    test = experiments.AbTestDraft(
        bodies=BODIES,
        pool_percent=10,
        # Without delivery reports every variant delivers nothing: no winner, the fallback.
        metric=AbMetric.DELIVERY,
        min_sample=10,
        decide_after_minutes=0,
        fallback=AbFallback.FIRST,
        seed="crash",
    )
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, test)
        experiments.launch_test(session, campaign.id, POLICY)
        found = experiments.ab_test_of(session, campaign.id)
        assert found is not None and found.rest_id is not None
        return campaign.id, found.rest_id


def _kill_around_the_decision(
    database: Database, database_url: str, audience: int, sending_kills: int
) -> None:
    rng = random.Random(20261207)
    campaign_id, rest_id = _launch(database, audience)

    def progress() -> Progress:
        return _progress(database, campaign_id, rest_id)

    simulator = SimulatorConfig(faults=Faults(latency=(0.01, 0.1)), seed=9)
    before_decision = 0
    """Kills with the pool sent and the test still undecided once the worker was dead."""
    inside = 0
    """Kills while the decision's transaction was open (seen on PostgreSQL only)."""
    with running_simulator(simulator) as sim:
        # Kill as soon as the pool is sent; then, each restart deciding at its first due
        # tick, a little later after each start until the decision commits.
        worker = Worker(database_url, sim.base_url)
        _wait(lambda: progress().pool_done, 60, "the pool was never sent")
        worker.kill()
        before_decision += progress().state == AbState.TESTING
        # A restart decides within a second or so of leading (it reconciles first), the
        # decision itself taking a good part of that: the kills step through it.
        delay = 0.0
        while progress().state == AbState.TESTING:
            worker = Worker(database_url, sim.base_url)
            worker.wait_until_started()
            if not database.is_sqlite and inside < 2:
                # PostgreSQL shows the decision under way: the test's row is locked.
                if _deciding(database, campaign_id):
                    worker.kill()
                    # Unless it committed between the look and the kill, the half-made
                    # decision left nothing: no winner, no text for the rest.
                    if progress().state == AbState.TESTING:
                        assert progress().rest_messages == 0
                        inside += 1
                        before_decision += 1
                    continue
            else:
                time.sleep(delay)
                delay += rng.uniform(0.1, 0.3)
            worker.kill()
            before_decision += progress().state == AbState.TESTING
        # Then while the rest is sent.
        for _ in range(sending_kills):
            worker = Worker(database_url, sim.base_url)
            sent = progress().accepted
            _wait(lambda: progress().accepted > sent, 30, "nothing sent after a restart")  # noqa: B023
            time.sleep(rng.uniform(0.0, 0.4))
            worker.kill()
        worker = Worker(database_url, sim.base_url)
        try:
            _wait(lambda: progress().accepted == audience, 120, "the rest was never all sent")
            time.sleep(1.0)  # a resend, had there been one, would reach the ledger by now
        finally:
            worker.process.terminate()
            worker.process.wait(10)
        ledger = sim.ledger(full=True)

    assert before_decision >= 2, "kills should land before the decision commits"
    assert database.is_sqlite or inside >= 1, "no kill landed inside the decision"
    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == audience
    assert all(ledger.count(n) == 1 for n in numbers(audience))
    with database.read() as session:
        test = session.get(AbTest, campaign_id)
        rest = session.get(Campaign, rest_id)
        assert test is not None and rest is not None
        assert (test.state, test.winner, test.decided_by) == (AbState.DECIDED, "A", "fallback")
        assert test.decided_at is not None and test.rest_error is None
        assert (rest.variant, rest.body, rest.launched_at) == ("A", BODIES[0], test.decided_at)
        rest_messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == rest_id)
        )
        doubled = session.execute(
            select(Message.campaign_id, Message.phone)
            .group_by(Message.campaign_id, Message.phone)
            .having(func.count() > 1)
        ).all()
    assert rest_messages == rest.recipient_count == audience - audience // 10
    assert doubled == []


def test_killing_the_worker_around_an_ab_decision_decides_and_sends_once(
    engine_name: str, database: Database, database_url: str
) -> None:
    audience = 40_000 if engine_name == "postgresql" else 10_000
    _kill_around_the_decision(database, database_url, audience, sending_kills=2)


@pytest.mark.soak
def test_killing_the_worker_around_a_50000_recipient_ab_decision(
    engine_name: str, database: Database, database_url: str
) -> None:
    _kill_around_the_decision(database, database_url, 50_000, sending_kills=10)
