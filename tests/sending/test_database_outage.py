"""The database goes away mid-campaign and comes back: the running dispatcher finishes the
campaign by itself, every recipient texted exactly once (issue 12, item 6)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from tests.factories import numbers
from tests.sending.outage import PostgresProxy, sqlite_write_outage
from tests.sending.stack import sending_stack

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Batch, BatchState, Campaign, CampaignStatus, Message, MessageStatus
from textcast.sending.leadership import DispatcherLock
from textcast.simulator import Faults, RunningSimulator, SimulatorConfig

RECIPIENTS = 4000
BATCH_SIZE = 100
# PostgreSQL: every connection (the dispatcher's leadership lock's too) cut, new ones refused.
# SQLite: writers fail once they have waited their busy timeout (10 s).
OUTAGE_SECONDS = {"postgresql": 4.0, "sqlite": 12.0}

Outage = Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _outage_switch(database_url: str, engine_name: str) -> Iterator[tuple[str, Outage]]:
    """The URL the app is to use, and how to take its database away for a while."""
    seconds = OUTAGE_SECONDS[engine_name]
    if engine_name == "sqlite":
        yield database_url, lambda: sqlite_write_outage(database_url, seconds)
        return
    proxy = PostgresProxy(database_url)
    try:
        yield proxy.url, lambda: proxy.outage(seconds)
    finally:
        proxy.close()


def _launch(database: Database, recipients: list[str]) -> int:
    draft = campaigns.CampaignDraft("outage", "Flash sale!", recipients)
    with database.write() as session:
        campaign_id = campaigns.create_campaign(session, draft, "US").id
        campaigns.launch_campaign(session, campaign_id)
    return campaign_id


def _wait_for_batches(simulator: RunningSimulator, count: int) -> int:
    deadline = time.monotonic() + 30
    while (accepted := simulator.ledger(full=False).batches) < count:
        assert time.monotonic() < deadline, "the campaign did not start sending"
        time.sleep(0.02)
    return accepted


def _wait_until_completed(database: Database, campaign_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with database.read() as session:
            status = session.scalars(select(Campaign.status).where(Campaign.id == campaign_id))
            if status.one() == CampaignStatus.COMPLETED:
                return
            open_batches = dict(
                session.execute(
                    select(Batch.state, func.count())
                    .where(Batch.state.not_in((BatchState.ACCEPTED,)))
                    .group_by(Batch.state)
                ).all()
            )
        assert time.monotonic() < deadline, (
            f"the campaign did not complete {timeout:.0f}s after the outage: {open_batches}"
        )
        time.sleep(0.1)


def test_a_database_outage_mid_campaign_ends_with_everyone_texted_once_without_a_restart(
    database: Database, database_url: str, engine_name: str
) -> None:
    recipients = numbers(RECIPIENTS)
    # Slow answers keep POSTs in flight when the database goes: Sinch accepts them while
    # their outcome cannot be recorded.
    simulator = SimulatorConfig(faults=Faults(latency=(0.2, 0.5)), seed=12)
    with (
        _outage_switch(database_url, engine_name) as (app_url, outage),
        sending_stack(app_url, simulator, batch_size=BATCH_SIZE, delivery_report="none") as stack,
    ):
        campaign_id = _launch(database, recipients)
        _wait_for_batches(stack.simulator, 5)
        with outage():
            cut_at = stack.simulator.ledger(full=False).batches
            time.sleep(1.5)  # the POSTs in flight land meanwhile
            landed_during_outage = stack.simulator.ledger(full=False).batches - cut_at
        _wait_until_completed(database, campaign_id, timeout=45)
        ledger = stack.simulator.ledger(full=True)

    assert landed_during_outage > 0, "the outage should catch POSTs in flight"
    assert ledger.duplicates == {}
    assert ledger.duplicate_client_references == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == RECIPIENTS
    assert all(ledger.count(n) == 1 for n in recipients)
    with database.read() as session:
        statuses = dict(
            session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
        batches = dict(
            session.execute(select(Batch.state, func.count()).group_by(Batch.state)).all()
        )
    assert statuses == {MessageStatus.ACCEPTED: RECIPIENTS}
    assert batches == {BatchState.ACCEPTED: ledger.batches}


def _batches_in(database: Database, state: BatchState) -> int:
    with database.read() as session:
        count = session.scalar(select(func.count()).select_from(Batch).where(Batch.state == state))
        return count or 0


def test_retries_that_come_due_during_an_outage_are_sent_once_it_ends(
    database: Database, database_url: str, engine_name: str
) -> None:
    recipients = numbers(1000)
    # Sinch answers 429 to everything at first: batches wait in `retry`, due within seconds.
    unavailable = SimulatorConfig(faults=Faults(error_429=1.0, retry_after=0.0), seed=12)
    with (
        _outage_switch(database_url, engine_name) as (app_url, outage),
        # One slot: the batch whose 429 cannot be recorded is the only one in flight.
        sending_stack(
            app_url,
            unavailable,
            batch_size=BATCH_SIZE,
            delivery_report="none",
            dispatcher_concurrency=1,
        ) as stack,
    ):
        campaign_id = _launch(database, recipients)
        deadline = time.monotonic() + 30
        while _batches_in(database, BatchState.RETRY) < 3:
            assert time.monotonic() < deadline, "no batch went to retry"
            time.sleep(0.05)
        with outage():
            stack.simulator.set_faults(Faults())  # Sinch is back, the database is not
        _wait_until_completed(database, campaign_id, timeout=45)
        ledger = stack.simulator.ledger(full=True)

    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == len(recipients)


def _wait_for_log(caplog: pytest.LogCaptureFixture, words: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not any(words in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, f"no log line saying {words!r}"
        time.sleep(0.05)


def test_a_leader_whose_lock_went_with_its_connection_stands_by_while_another_holds_it(
    database: Database, database_url: str, engine_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    if engine_name != "postgresql":
        pytest.skip("SQLite's dispatcher lock is a file of this process: no connection to lose")
    caplog.set_level(logging.INFO, logger="textcast.dispatcher")
    proxy = PostgresProxy(database_url)
    rival = Database(database_url)
    rival_lock = DispatcherLock(rival)
    try:
        with sending_stack(
            proxy.url, SimulatorConfig(seed=12), batch_size=BATCH_SIZE, delivery_report="none"
        ) as stack:
            _wait_until_completed(database, _launch(database, numbers(300)), timeout=30)
            with proxy.outage(3.0):
                # The server ends the cut session, and its advisory lock with it.
                deadline = time.monotonic() + 10
                while not rival_lock.try_acquire():
                    assert time.monotonic() < deadline, "the cut session kept the lock"
                    time.sleep(0.1)
            _wait_for_log(caplog, "another dispatcher is running on this database")
            second = _launch(database, numbers(300, start=300))
            time.sleep(2.0)  # many polls of the old leader, had it gone on
            sent_while_standing_by = stack.simulator.ledger(full=False).accepted_recipients
            rival_lock.release()  # the standby takes the lead back
            _wait_until_completed(database, second, timeout=30)
            ledger = stack.simulator.ledger(full=True)
    finally:
        rival_lock.release()
        rival.dispose()
        proxy.close()

    assert sent_while_standing_by == 300, "only the rival, holding the lock, may send"
    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == 600
