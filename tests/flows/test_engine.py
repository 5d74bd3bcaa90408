from datetime import timedelta

from tests.flows.helpers import START, Clock, advance, contact, flow, flow_texts, policy, run_states

from textcast.db import Database
from textcast.domain import flows
from textcast.models import FlowRun

WELCOME = {
    "trigger": {"type": "subscribed"},
    "steps": [
        {"id": "hello", "type": "send", "body": "Welcome {{ first_name }}!"},
        {"id": "pause", "type": "wait", "for": "2d"},
        {"id": "offer", "type": "send", "body": "10% off this week"},
        {"id": "later", "type": "wait", "for": "5d"},
        {"id": "last", "type": "send", "body": "Our best sellers"},
    ],
}


def test_a_welcome_series_runs_over_a_week_of_clock(database: Database) -> None:
    rules = policy()
    clock = Clock()
    flow(database, WELCOME)
    ana = contact(database, "+12015550101", first_name="Ana")
    with database.write() as session:
        started = flows.on_subscribed(session, flows.Entrant(ana, "+12015550101"), [], clock.now)
    assert len(started) == 1
    advance(database, rules, clock.now)
    assert flow_texts(database) == [("+12015550101", "Welcome {{ first_name }}!", "queued")]
    clock.now += timedelta(days=1)
    assert advance(database, rules, clock.now).woken == 0
    clock.now += timedelta(days=1)
    advance(database, rules, clock.now)
    assert [body for _, body, _ in flow_texts(database)][-1] == "10% off this week"
    clock.now += timedelta(days=5)
    advance(database, rules, clock.now)
    assert len(flow_texts(database)) == 3
    assert run_states(database) == {"completed": 1}
    with database.read() as session:
        run = session.query(FlowRun).one()
        assert run.ended_at == START + timedelta(days=7)
