from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.flows.helpers import START, Clock, advance, contact, flow, flow_texts, policy, run_states

from textcast.db import Database
from textcast.domain import flows, outbox
from textcast.models import Campaign, CampaignKind, FlowRun

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


def test_texts_a_step_adds_after_a_claim_ran_ahead_are_claimed_too(database: Database) -> None:
    """A step's campaign of the day takes each chunk's texts while the dispatcher claims from
    it: a claim whose window ran past the last id then must not leave the next texts behind."""
    rules = policy()
    flow(database, WELCOME)
    phones = ["+12015550101", "+12015550102"]
    first, second = (contact(database, phone, first_name="Ana") for phone in phones)
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(first, phones[0]), [], START)
    advance(database, rules, START)
    with database.write() as session:
        (claim,) = outbox.claim_batches(session, _campaign_of(session), 1000, 1, START)
    assert [row.phone for row in claim.rows] == phones[:1]
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(second, phones[1]), [], START)
    advance(database, rules, START)
    with database.write() as session:
        claims = outbox.claim_batches(session, _campaign_of(session), 1000, 1, START)
    assert [row.phone for claim in claims for row in claim.rows] == phones[1:]


def _campaign_of(session: Session) -> int:
    return session.scalars(select(Campaign.id).where(Campaign.kind == CampaignKind.FLOW)).one()
