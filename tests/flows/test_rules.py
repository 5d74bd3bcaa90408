"""The rules around runs: re-entry (once, always, after a cooldown), a goal event, STOP, quiet
hours and the daily quota shared with campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import make_campaign, numbers
from tests.flows.helpers import (
    SECRET,
    START,
    advance,
    contact,
    flow,
    flow_texts,
    history,
    policy,
    runs_of,
    subscribe,
)
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import campaigns, flows
from textcast.models import Campaign, Contact, ContactStatus, Message
from textcast.web.app import create_app

SERIES = [
    {"id": "hello", "type": "send", "body": "Welcome!"},
    {"id": "rest", "type": "wait", "for": "1d"},
    {"id": "tip", "type": "send", "body": "A tip for day two"},
]
LEGAL_HOURS = {"US": "08:00-21:00"}


def _welcome(database: Database, **rules: Any) -> int:
    return flow(database, {"trigger": {"type": "subscribed"}, "steps": SERIES, **rules})


def test_reentry_once_lets_a_contact_through_one_time_only(database: Database) -> None:
    _welcome(database, reentry="once")
    phone = numbers(1)[0]
    ana = contact(database, phone)
    subscribe(database, ana, phone, START)
    advance(database, policy(), START + timedelta(days=2))
    subscribe(database, ana, phone, START + timedelta(days=30))
    with database.write() as session:  # the path of imports and list additions
        assert flows.on_subscribed_many(session, [ana], [], START + timedelta(days=31)) == 0
    assert len(runs_of(database)) == 1


def test_reentry_always_starts_a_new_run_each_time_and_texts_again(database: Database) -> None:
    _welcome(database, reentry="always")
    phone = numbers(1)[0]
    ana = contact(database, phone)
    subscribe(database, ana, phone, START)
    advance(database, policy(), START)
    later = START + timedelta(hours=1)
    subscribe(database, ana, phone, later)  # while the first run waits
    advance(database, policy(), later)
    assert [run.entry for run in runs_of(database)] == [1, 2]
    # Each generation has its own step campaign: a campaign texts a number once.
    assert [body for _, body, _ in flow_texts(database)] == ["Welcome!", "Welcome!"]
    with database.read() as session:
        names = list(session.scalars(select(Campaign.name).order_by(Campaign.id)))
    assert names[1].startswith("Flow: step hello (runs #2)")


def test_reentry_after_a_cooldown_waits_for_it_to_pass(database: Database) -> None:
    _welcome(database, reentry="cooldown", cooldown="7d")
    phones = numbers(2)
    ana, bob = (contact(database, phone) for phone in phones)
    subscribe(database, ana, phones[0], START)
    with database.write() as session:
        assert flows.on_subscribed_many(session, [bob], [], START) == 1
    for days in (1, 6):
        subscribe(database, ana, phones[0], START + timedelta(days=days))
        with database.write() as session:
            assert flows.on_subscribed_many(session, [bob], [], START + timedelta(days=days)) == 0
    assert len(runs_of(database)) == 2
    subscribe(database, ana, phones[0], START + timedelta(days=7))
    with database.write() as session:
        assert flows.on_subscribed_many(session, [bob], [], START + timedelta(days=7)) == 1
    assert sorted((run.contact_id, run.entry) for run in runs_of(database)) == [
        (ana, 1),
        (ana, 2),
        (bob, 1),
        (bob, 2),
    ]


def test_the_goal_event_ends_the_run_where_it_is(database: Database) -> None:
    flow(
        database,
        {
            "trigger": {"type": "event", "event": "cart_abandoned"},
            "goal": "order_placed",
            "steps": [
                {"id": "rest", "type": "wait", "for": "1h"},
                {"id": "nudge", "type": "send", "body": "Your cart misses you"},
            ],
        },
    )
    buyer, browser = numbers(2)
    for phone in (buyer, browser):
        contact(database, phone)
        with database.write() as session:
            flows.record_event(
                session, flows.EventInput("cart_abandoned", phone=phone), "US", SECRET, START
            )
    advance(database, policy(), START)
    with database.write() as session:
        bought = flows.record_event(
            session,
            flows.EventInput("order_placed", phone=buyer),
            "US",
            SECRET,
            START + timedelta(minutes=30),
        )
        assert bought.event.runs_ended == 1
    advance(database, policy(), START + timedelta(hours=1))
    assert [phone for phone, _, _ in flow_texts(database)] == [browser]
    ended = {run.phone: (str(run.status), run.end_reason) for run in runs_of(database)}
    assert ended == {
        buyer: ("goal", "reached the goal: order_placed"),
        browser: ("completed", "went through every step"),
    }


def test_stop_through_the_webhook_ends_every_run_of_the_number_at_once(
    database: Database, database_url: str
) -> None:
    _welcome(database, reentry="always")
    flow(
        database,
        {
            "trigger": {"type": "keyword", "keyword": "VIP"},
            "steps": [
                {"id": "rest", "type": "wait", "for": "3d"},
                {"id": "perk", "type": "send", "body": "Your VIP perk"},
            ],
        },
    )
    phone, other = numbers(2)
    ana = contact(database, phone)
    bob = contact(database, other)
    subscribe(database, ana, phone, START)
    subscribe(database, bob, other, START)
    with database.write() as session:
        flows.on_keyword(session, flows.Entrant(ana, phone), "vip", START)
    advance(database, policy(), START)
    assert len([run for run in runs_of(database) if run.contact_id == ana]) == 2
    settings = load_settings(database_url=database_url, secret_key="tests")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        body = inbound_callback(1, phone, "STOP")
        answer = client.post(
            "/api/webhooks/inbound", content=body, headers=signed_by_sinch(settings, body)
        )
        assert answer.status_code == 200, answer.text
    states = {(run.contact_id, run.flow_id): str(run.status) for run in runs_of(database)}
    assert sorted(states.values()) == ["active", "stopped", "stopped"]
    for run in runs_of(database):
        if run.contact_id == ana:
            assert history(database, run.id)[-1] == ("rest", "stopped")
            assert run.wake_at is None
    advance(database, policy(), START + timedelta(days=4))
    texts = [(p, body) for p, body, _ in flow_texts(database)]
    assert sorted(texts) == [(phone, "Welcome!"), (other, "A tip for day two"), (other, "Welcome!")]
    with database.read() as session:
        found = session.get(Contact, ana)
        assert found is not None and found.status == ContactStatus.UNSUBSCRIBED


def test_quiet_hours_defer_a_flow_text_to_the_recipients_window(database: Database) -> None:
    rules = policy(quiet_hours="08:00-21:00", quiet_hours_rules=LEGAL_HOURS)
    _welcome(database)
    phone = numbers(1)[0]
    ana = contact(database, phone)  # New York
    night = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 02:00 in New York
    subscribe(database, ana, phone, night)
    assert advance(database, rules, night).queued == 1
    with database.read() as session:
        message = session.scalars(select(Message)).one()
    assert str(message.status) == "deferred"
    assert message.not_before == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 08:00 there


def test_the_daily_quota_counts_campaigns_and_holds_flow_texts(database: Database) -> None:
    rules = policy(daily_recipient_quota=3)
    campaign = make_campaign(database, numbers(2, start=100))
    with database.write() as session:
        campaigns.launch_campaign(session, campaign.id, rules, now=START)
    _welcome(database)
    phones = numbers(2)
    for phone in phones:
        subscribe(database, contact(database, phone), phone, START)
    done = advance(database, rules, START)
    assert (done.queued, done.held) == (1, 1)
    [held] = [run for run in runs_of(database) if run.position == "hello"]
    first = next(phone for phone in phones if phone != held.phone)
    assert (held.position, held.wake_at) == ("hello", START + timedelta(minutes=15))
    assert history(database, held.id) == [("hello", "held")]
    # Still held while the day's texts count; sent once they have left the rolling day.
    assert advance(database, rules, START + timedelta(minutes=15)).held == 1
    tomorrow = START + timedelta(days=1, minutes=30)
    assert advance(database, rules, tomorrow).queued == 2  # its welcome, and the other's tip
    texts = sorted((phone, body) for phone, body, _ in flow_texts(database))
    assert texts == sorted(
        [(first, "Welcome!"), (first, "A tip for day two"), (held.phone, "Welcome!")]
    )


def test_a_flow_text_sent_late_in_the_day_still_counts_toward_the_quota_a_day_later(
    database: Database,
) -> None:
    rules = policy(daily_recipient_quota=2)
    _welcome(database)
    early, late, next_day = numbers(3)
    subscribe(database, contact(database, early), early, START)
    assert advance(database, rules, START).queued == 1
    evening = START + timedelta(hours=7, minutes=50)  # 23:50 UTC, the same day's campaign
    subscribe(database, contact(database, late), late, evening)
    assert advance(database, rules, evening).queued == 1
    # A day after the first text, the evening's is still within the rolling 24 hours: the
    # new contact's welcome (and the first contact's next text) wait.
    after = START + timedelta(days=1, minutes=30)
    subscribe(database, contact(database, next_day), next_day, after)
    done = advance(database, rules, after)
    assert (done.queued, done.held) == (0, 2)
