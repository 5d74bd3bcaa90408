"""Flows through the real dispatcher to the simulator on a real port, on a clock the test
moves: a week of a welcome series in seconds, and the frequency cap shared with campaigns."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.factories import make_campaign, numbers
from tests.flows.helpers import SECRET, START, Clock, contact, flow, history, policy, runs_of
from tests.sending.test_authoring_end_to_end import dispatching, settle

from textcast.db import Database
from textcast.domain import campaigns, flows
from textcast.domain.campaigns.planning import Policy
from textcast.models import Batch, Campaign, Message, MessageStatus
from textcast.sending.dispatcher import Dispatcher, DispatcherConfig
from textcast.sending.flow_engine import FlowEngine
from textcast.simulator import SimulatorConfig, running_simulator

WEEK = [
    {"id": "hello", "type": "send", "body": "Welcome {{ first_name }}!"},
    {"id": "pause", "type": "wait", "for": "2d"},
    {"id": "offer", "type": "send", "body": "10% off this week"},
    {"id": "later", "type": "wait", "for": "5d"},
    {"id": "last", "type": "send", "body": "Our best sellers"},
]


def _nothing_in_flight(counts: dict[str, int]) -> bool:
    return not counts.get(MessageStatus.QUEUED) and not counts.get(MessageStatus.SUBMITTING)


def _with_dispatcher(
    database: Database,
    rules: Policy,
    clock: Clock,
    scenario: Callable[[Dispatcher, FlowEngine], Awaitable[None]],
) -> list[tuple[str, str]]:
    """Run `scenario` with the dispatcher and the flow engine on `clock`; (phone, body) of
    every text the simulator accepted."""
    config = DispatcherConfig(
        callback_url=None,
        delivery_report="none",
        policy=rules,
        clock=clock,
        suppression_secret=SECRET,
    )

    async def run(base_url: str) -> None:
        async with dispatching(database, base_url, config) as dispatcher:
            engine = FlowEngine(
                database, policy_source=lambda: rules, on_queued=dispatcher.wake, clock=clock
            )
            await scenario(dispatcher, engine)

    with running_simulator(SimulatorConfig()) as sim:
        asyncio.run(run(sim.base_url))
        ledger = sim.accepted_batches()
        assert sim.ledger().duplicate_client_references == {}
    with database.read() as session:
        bodies = dict(
            session.execute(
                select(Batch.id, Campaign.body).join(Campaign, Campaign.id == Batch.campaign_id)
            ).all()
        )
    return [
        (f"+{phone}", bodies[batch.client_reference or ""])
        for batch in ledger
        for phone in batch.recipients
    ]


def test_a_week_long_welcome_series_sends_each_text_once_in_seconds(database: Database) -> None:
    rules = policy()
    clock = Clock()
    flow(database, {"trigger": {"type": "subscribed"}, "steps": WEEK}, "Welcome")
    phones = numbers(3)
    for name, phone in zip(("Ana", "Bo", "Cy"), phones, strict=True):
        made = contact(database, phone, first_name=name)
        with database.write() as session:
            flows.on_subscribed(session, flows.Entrant(made, phone), [], clock.now)
    accepted_at: dict[tuple[str, str], datetime] = {}

    async def week(dispatcher: Dispatcher, engine: FlowEngine) -> None:
        for _ in range(7 * 4 + 1):  # every 6 hours for a week
            await asyncio.to_thread(engine.tick)
            dispatcher.wake()
            await settle(database, _nothing_in_flight)
            with database.read() as session:
                for phone, body in session.execute(
                    select(Message.phone, Campaign.body)
                    .join(Campaign, Campaign.id == Message.campaign_id)
                    .where(Message.status == MessageStatus.ACCEPTED)
                ):
                    accepted_at.setdefault((phone, body), clock.now)
            clock.now += timedelta(hours=6)

    sent = _with_dispatcher(database, rules, clock, week)
    expected = {
        (phone, body)
        for phone in phones
        for body in ("Welcome {{ first_name }}!", "10% off this week", "Our best sellers")
    }
    assert Counter(sent) == dict.fromkeys(expected, 1)  # each text exactly once
    days = {body: (at - START).days for (_, body), at in accepted_at.items()}
    assert days == {"Welcome {{ first_name }}!": 0, "10% off this week": 2, "Our best sellers": 7}
    assert [str(run.status) for run in runs_of(database)] == ["completed"] * 3


def test_the_frequency_cap_counts_campaign_and_flow_texts_together(database: Database) -> None:
    # The outbox stamps a text sent with the real time: the clock starts there.
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    rules = policy(frequency_cap=1, frequency_window_hours=24)
    flow(
        database,
        {"trigger": {"type": "subscribed"}, "steps": [{"id": "hi", "type": "send", "body": "Hi"}]},
    )
    reached, fresh, third = numbers(3)
    ids = {phone: contact(database, phone) for phone in (reached, fresh, third)}
    first = make_campaign(database, [reached], body="Sale today")
    second = make_campaign(database, [fresh, third], body="Sale tomorrow")

    async def scenario(dispatcher: Dispatcher, engine: FlowEngine) -> None:
        with database.write() as session:
            campaigns.launch_campaign(session, first.id, rules, now=clock.now)
        dispatcher.wake()
        await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 1)
        with database.write() as session:
            for phone in (reached, fresh):
                flows.on_subscribed(session, flows.Entrant(ids[phone], phone), [], clock.now)
        await asyncio.to_thread(engine.tick)
        await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 2)
        with database.write() as session:
            campaigns.launch_campaign(session, second.id, rules, now=clock.now)
        dispatcher.wake()
        await settle(database, lambda c: c.get(MessageStatus.ACCEPTED) == 3)

    sent = _with_dispatcher(database, rules, clock, scenario)
    # The campaign's text capped the flow's; the flow's capped the next campaign's.
    assert sorted(sent) == sorted(
        [(reached, "Sale today"), (fresh, "Hi"), (third, "Sale tomorrow")]
    )
    with database.read() as session:
        skipped = session.execute(
            select(Message.phone, Campaign.body, Message.error)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(Message.status == MessageStatus.SKIPPED)
            .order_by(Message.id)
        ).all()
    assert [(phone, body) for phone, body, _ in skipped] == [
        (reached, "Hi"),
        (fresh, "Sale tomorrow"),
    ]
    assert {error for _, _, error in skipped} == {"frequency_cap"}
    [reached_run] = [run for run in runs_of(database) if run.phone == reached]
    assert history(database, reached_run.id) == [("hi", "skipped")]
