import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.factories import make_campaign, numbers

from textcast.db import Database
from textcast.models import Batch, BatchState, Campaign, CampaignStatus, Message, MessageStatus
from textcast.sending.dispatcher import CLAIMED_AT_ONCE, Dispatcher, DispatcherConfig
from textcast.simulator import SimulatorConfig, running_simulator
from textcast.sinch.client import SinchClient
from textcast.sinch.provider import SinchProvider


async def _dispatch_until_done(
    database: Database, base_url: str, config: DispatcherConfig, campaign_id: int
) -> None:
    provider = SinchProvider(SinchClient(base_url, "simulated", "simulated-token"))
    dispatcher = Dispatcher(database, provider, config)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        async with asyncio.timeout(30):
            while True:
                with database.read() as session:
                    status = session.scalars(
                        select(Campaign.status).where(Campaign.id == campaign_id)
                    ).one()
                if status == CampaignStatus.COMPLETED:
                    break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
        await provider.aclose()


def test_a_batch_sinch_refuses_fails_its_messages_with_sinch_code_and_text(
    database: Database,
) -> None:
    campaign = make_campaign(database, numbers(5), launch=True)
    # Asking for delivery reports without any callback URL is a 403 `missing_callback_url`.
    config = DispatcherConfig(callback_url=None, delivery_report="per_recipient_final")
    with running_simulator(SimulatorConfig(default_callback_url=None)) as sim:
        asyncio.run(_dispatch_until_done(database, sim.base_url, config, campaign.id))
        assert sim.ledger().accepted_recipients == 0
    with database.read() as session:
        messages = session.scalars(select(Message)).all()
        batch = session.scalars(select(Batch)).one()
    assert {m.status for m in messages} == {MessageStatus.FAILED}
    assert (
        messages[0].error
        == "missing_callback_url: Requesting delivery report without any callback URL."
    )
    assert batch.state == BatchState.REJECTED
    assert batch.attempts == 1


def test_batches_respect_the_configured_size(database: Database) -> None:
    campaign = make_campaign(database, numbers(25), launch=True)
    config = DispatcherConfig(callback_url=None, delivery_report="none", batch_size=10)
    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(_dispatch_until_done(database, sim.base_url, config, campaign.id))
        ledger = sim.ledger(full=True)
    assert sorted(ledger.batch_recipients.values()) == [5, 10, 10]
    with database.read() as session:
        states = session.scalars(select(Message.status)).all()
    assert set(states) == {MessageStatus.ACCEPTED}


def test_with_no_rate_limit_a_lane_claims_one_batch_first_then_rounds_of_several(
    database: Database,
) -> None:
    """The first texts leave without waiting for a whole round to be claimed and screened;
    after that each turn on the campaign's cursor takes up to CLAIMED_AT_ONCE batches."""
    campaign = make_campaign(database, numbers(20), launch=True)
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    ticks = itertools.count()
    config = DispatcherConfig(
        callback_url=None,
        delivery_report="none",
        batch_size=2,
        # A new instant at every call: the batches of one claim share theirs.
        clock=lambda: start + timedelta(milliseconds=next(ticks)),
    )
    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(_dispatch_until_done(database, sim.base_url, config, campaign.id))
    with database.read() as session:
        claimed_at = session.scalars(select(Batch.created_at).order_by(Batch.created_at)).all()
    turns = list(Counter(claimed_at).values())  # batches per claim, in claim order

    assert sum(turns) == 10
    assert turns[0] == 1
    assert 1 < max(turns) <= CLAIMED_AT_ONCE
    if database.is_sqlite:  # one lane: one batch, then a round of 8, then what is left
        assert turns == [1, CLAIMED_AT_ONCE, 1]
