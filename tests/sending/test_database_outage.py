"""The database goes away mid-campaign and comes back: the running dispatcher finishes the
campaign by itself, every recipient texted exactly once (issue 12, item 6)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from sqlalchemy import func, select
from tests.factories import numbers
from tests.sending.outage import PostgresProxy, sqlite_write_outage
from tests.sending.stack import sending_stack

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import Batch, BatchState, Campaign, CampaignStatus, Message, MessageStatus
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
