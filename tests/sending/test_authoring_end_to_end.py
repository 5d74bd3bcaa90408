"""Quiet hours, budget cap and campaign controls, against the simulator on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.audience import contacts
from textcast.domain.campaigns.planning import Policy
from textcast.domain.errors import Conflict
from textcast.models import Campaign, CampaignStatus, Message, MessageStatus
from textcast.runtime import sending_policy
from textcast.sending.dispatcher import Dispatcher, DispatcherConfig
from textcast.simulator import SimulatorConfig, running_simulator
from textcast.sinch.client import SinchClient
from textcast.sinch.provider import SinchProvider

ZONES = {
    "+12015550100": "America/New_York",
    "+12015550101": "America/New_York",
    "+12015550200": "America/Los_Angeles",
    "+12015550201": "America/Los_Angeles",
    "+12015550300": "Europe/Paris",
    "+12015550301": "Europe/Paris",
    "+12015550400": "Asia/Tokyo",
    "+12015550401": "Asia/Tokyo",
}
SECRET = b"s" * 32
# The suite's environment opens the window all day (conftest); these are the legal defaults.
LEGAL_HOURS = {"US": "08:00-21:00", "US-FL": "08:00-20:00", "US-OK": "08:00-20:00"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def dispatching(
    database: Database, base_url: str, config: DispatcherConfig
) -> AsyncIterator[Dispatcher]:
    provider = SinchProvider(SinchClient(base_url, "simulated", "simulated-token"))
    dispatcher = Dispatcher(database, provider, config)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await running
        await provider.aclose()


async def settle(database: Database, done: Callable[[dict[str, int]], bool]) -> dict[str, int]:
    async with asyncio.timeout(30):
        while True:
            with database.read() as session:
                rows = session.execute(
                    select(Message.status, func.count()).group_by(Message.status)
                )
                counts = {status: n for status, n in rows}
            if done(counts):
                return counts
            await asyncio.sleep(0.05)


def _policy(**settings: Any) -> Policy:
    return sending_policy(load_settings(secret_key=SECRET.decode(), **settings))


def test_quiet_hours_hold_every_message_until_its_recipients_window_opens(
    database: Database,
) -> None:
    policy = _policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    clock = Clock(start)
    with database.write() as session:
        for phone, zone in ZONES.items():
            contacts.create_contact(
                session, contacts.ContactDraft(phone=phone, time_zone=zone), "US", "test", SECRET
            )
        draft = campaigns.CampaignDraft(name="zones", body="Sale", recipients=list(ZONES))
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy, now=start)
    config = DispatcherConfig(
        callback_url=None,
        delivery_report="none",
        batch_size=3,
        policy=policy,
        clock=clock,
        suppression_secret=SECRET,
    )
    accepted_at: dict[str, datetime] = {}

    async def run(base_url: str, ledger: Callable[[], list[list[str]]]) -> None:
        async with dispatching(database, base_url, config) as dispatcher:
            for _ in range(25):
                # This hour's due check has queued whatever its window opened, then that is
                # handed to Sinch (a fixed sleep here lost the race on a loaded machine).
                while dispatcher.due_work_started_at < clock.now:
                    dispatcher.wake()
                    await asyncio.sleep(0.01)
                await settle(
                    database,
                    lambda c: (
                        not c.get(MessageStatus.QUEUED) and not c.get(MessageStatus.SUBMITTING)
                    ),
                )
                for recipients in ledger():
                    for phone in recipients:
                        accepted_at.setdefault(f"+{phone}", clock.now)
                clock.now += timedelta(hours=1)

    with running_simulator(SimulatorConfig()) as sim:

        def ledger() -> list[list[str]]:
            return [batch.recipients for batch in sim.accepted_batches()]

        asyncio.run(run(sim.base_url, ledger))
        assert sim.ledger().accepted_recipients == len(ZONES)
    assert set(accepted_at) == set(ZONES)
    for phone, at in accepted_at.items():
        local = at.astimezone(ZoneInfo(ZONES[phone]))
        assert 8 <= local.hour < 21, f"{phone} got it at {local:%H:%M} local"
    # Each got it in the first hour its window was open, not later.
    assert accepted_at["+12015550100"] == start  # 08:00 in New York
    assert accepted_at["+12015550200"] == start + timedelta(hours=3)  # 08:00 in Los Angeles
    assert accepted_at["+12015550300"] == start  # 14:00 in Paris
    assert accepted_at["+12015550400"] == start + timedelta(hours=11)  # 08:00 in Tokyo


def test_the_budget_pauses_the_campaign_and_resume_finishes_it(database: Database) -> None:
    policy = _policy(prices={"US": 0.01})
    audience = [f"+1201555{i:04d}" for i in range(30)]
    with database.write() as session:
        draft = campaigns.CampaignDraft(name="b", body="Sale", recipients=audience, budget=1.0)
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy)
        campaigns.set_budget(session, campaign.id, 0.15)  # lowered below the estimate
    config = DispatcherConfig(
        callback_url=None, delivery_report="none", batch_size=4, policy=policy
    )

    async def run(base_url: str) -> None:
        async with dispatching(database, base_url, config) as dispatcher:
            await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 15)
            await asyncio.sleep(0.3)
            with database.read() as session:
                paused = campaigns.get_campaign(session, campaign.id)
                assert paused.status == CampaignStatus.PAUSED
                assert paused.status_reason is not None
                assert paused.status_reason.startswith("budget reached")
            with pytest.raises(Conflict, match="budget"), database.write() as session:
                campaigns.resume_campaign(session, campaign.id)
            with database.write() as session:
                campaigns.set_budget(session, campaign.id, 1.0)
                campaigns.resume_campaign(session, campaign.id)
            dispatcher.wake()
            await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 30)

    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(run(sim.base_url))
        assert sim.ledger().accepted_recipients == 30
    with database.read() as session:
        assert campaigns.get_campaign(session, campaign.id).spent == pytest.approx(0.30)


def test_pause_holds_everything_and_cancel_skips_the_rest(database: Database) -> None:
    policy = _policy()
    audience = [f"+1201555{i:04d}" for i in range(20)]
    with database.write() as session:
        draft = campaigns.CampaignDraft(name="p", body="Sale", recipients=audience)
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy)
        campaigns.pause_campaign(session, campaign.id)
    config = DispatcherConfig(
        callback_url=None, delivery_report="none", batch_size=5, policy=policy
    )

    async def run(base_url: str) -> None:
        async with dispatching(database, base_url, config):
            await asyncio.sleep(0.5)

    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(run(sim.base_url))
        assert sim.ledger().accepted_recipients == 0
        with database.write() as session:
            cancelled, provider_ids = campaigns.cancel_campaign(session, campaign.id)
        assert provider_ids == []
        asyncio.run(run(sim.base_url))
        assert sim.ledger().accepted_recipients == 0
    with database.read() as session:
        assert cancelled.status == CampaignStatus.CANCELLED
        skipped = session.scalars(select(Message.error)).all()
        status = session.scalar(select(Campaign.status).where(Campaign.id == campaign.id))
    assert set(skipped) == {"cancelled"} and len(skipped) == 20
    assert status == CampaignStatus.CANCELLED
    with pytest.raises(Conflict, match="only a paused one resumes"), database.write() as session:
        campaigns.resume_campaign(session, campaign.id)


def test_cancel_also_cancels_the_batches_sinch_still_holds(database: Database) -> None:
    policy = _policy()
    audience = [f"+1201555{i:04d}" for i in range(10)]
    with database.write() as session:
        draft = campaigns.CampaignDraft(name="c", body="Sale", recipients=audience)
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, policy)
    config = DispatcherConfig(
        callback_url=None, delivery_report="none", batch_size=5, policy=policy
    )

    async def run(base_url: str) -> list[str]:
        async with dispatching(database, base_url, config) as dispatcher:
            await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 10)
            with database.write() as session:
                _, provider_ids = campaigns.cancel_campaign(session, campaign.id)
            for batch_id in provider_ids:
                await dispatcher.provider.cancel(batch_id)
            return provider_ids

    # A plan rate of one message a second: Sinch still holds most of both batches.
    with running_simulator(SimulatorConfig(rate=1.0)) as sim:
        provider_ids = asyncio.run(run(sim.base_url))
        auth = {"Authorization": "Bearer simulated-token"}
        with httpx.Client(base_url=f"{sim.base_url}/xms/v1/simulated", headers=auth) as api:
            batches = [api.get(f"/batches/{batch_id}").json() for batch_id in provider_ids]
    assert len(provider_ids) == 2
    assert all(batch["canceled"] for batch in batches)
