"""SIGKILL the dispatcher at random moments during a campaign: no duplicates, no losses."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select
from tests.factories import numbers

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Batch, BatchState, Campaign, CampaignStatus, Message, MessageStatus
from textcast.simulator import Faults, SimulatorConfig, running_simulator

RECIPIENTS = 20_000
KILLS = 10


def _worker(database_url: str, simulator_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SINCH_SERVICE_PLAN_ID": "simulated",
        "SINCH_API_TOKEN": "simulated-token",
        "SINCH_BASE_URL": simulator_url,
        "SEND_RATE": "2000",
        "BATCH_SIZE": "250",
        "DELIVERY_REPORT": "none",
        "DISPATCHER_POLL_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "textcast", "worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _in_flight(database: Database) -> int:
    with database.read() as session:
        open_states = (BatchState.SUBMITTING, BatchState.POSTING, BatchState.UNKNOWN)
        return (
            session.scalar(
                select(func.count()).select_from(Batch).where(Batch.state.in_(open_states))
            )
            or 0
        )


def _batches(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Batch)) or 0


def _wait_until_sending(database: Database, batches_before: int) -> None:
    """Start-up takes a moment (longer on a busy machine): kill only once batches flow."""
    deadline = time.monotonic() + 30
    while _batches(database) <= batches_before and time.monotonic() < deadline:
        time.sleep(0.02)


def _campaign_status(database: Database, campaign_id: int) -> CampaignStatus:
    with database.read() as session:
        return session.scalars(select(Campaign.status).where(Campaign.id == campaign_id)).one()


def test_killing_the_dispatcher_ten_times_neither_duplicates_nor_loses(
    database: Database, database_url: str
) -> None:
    rng = random.Random(20261127)
    recipients = numbers(RECIPIENTS)
    draft = campaigns.CampaignDraft("crash", "Flash sale!", recipients)
    with database.write() as session:
        campaign_id = campaigns.create_campaign(session, draft, "US").id
        campaigns.launch_campaign(session, campaign_id)

    # Slow answers keep batches in flight, so the kills land inside the protocol's windows.
    simulator = SimulatorConfig(faults=Faults(latency=(0.02, 0.2)), seed=5)
    orphans_seen = []
    with running_simulator(simulator) as sim:
        for _ in range(KILLS):
            worker = _worker(database_url, sim.base_url)
            _wait_until_sending(database, _batches(database))
            time.sleep(rng.uniform(0.0, 0.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            orphans_seen.append(_in_flight(database))
        worker = _worker(database_url, sim.base_url)
        try:
            deadline = time.monotonic() + 120
            while _campaign_status(database, campaign_id) != CampaignStatus.COMPLETED:
                assert time.monotonic() < deadline, "the campaign did not complete after the kills"
                assert worker.poll() is None, "the worker died"
                time.sleep(0.1)
        finally:
            worker.terminate()
            worker.wait(10)
        ledger = sim.ledger(full=True)

    assert sum(1 for n in orphans_seen if n) >= 3, (
        f"kills should interrupt batches in flight: {orphans_seen}"
    )
    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == RECIPIENTS
    assert all(ledger.count(n) == 1 for n in recipients)
    with database.read() as session:
        statuses = dict(
            session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
        accepted_batches = session.scalar(
            select(func.count()).select_from(Batch).where(Batch.state == BatchState.ACCEPTED)
        )
    assert statuses == {MessageStatus.ACCEPTED: RECIPIENTS}
    assert accepted_batches == ledger.batches
