from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.flows.helpers import (
    SECRET,
    START,
    Clock,
    advance,
    contact,
    flow,
    flow_texts,
    policy,
    run_states,
)

from textcast.db import Database
from textcast.domain import campaigns, flows, outbox
from textcast.domain.audience import consent, erasure, lists
from textcast.domain.errors import Conflict, InvalidInput
from textcast.models import (
    Campaign,
    CampaignKind,
    Contact,
    Event,
    FlowRun,
    FlowStepCampaign,
    ListKeyword,
)

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


def test_per_step_figures_count_runs_texts_and_waits(database: Database) -> None:
    rules = policy()
    flow_id = flow(database, WELCOME)
    for n in range(3):
        phone = f"+1201555020{n}"
        who = contact(database, phone, first_name="Bo")
        with database.write() as session:
            flows.on_subscribed(session, flows.Entrant(who, phone), [], START)
    advance(database, rules, START)
    with database.read() as session:
        figures = flows.flow_figures(session, flow_id)
    assert figures.runs["active"] == 3
    assert figures.steps["hello"].entered == 3
    assert figures.steps["hello"].sent == 3
    assert figures.steps["pause"].waiting == 3
    assert figures.steps["offer"].entered == 0
    assert list(figures.steps) == ["hello", "pause", "offer", "later", "last"]


def test_every_template_is_a_valid_definition() -> None:
    for one in flows.TEMPLATES:
        flows.read_definition(one.definition)


def test_runs_move_to_the_new_version_where_their_step_still_is(database: Database) -> None:
    rules = policy()
    flow_id = flow(database, WELCOME)
    phone = "+12015550301"
    who = contact(database, phone)
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(who, phone), [], START)
    advance(database, rules, START)
    shorter = {**WELCOME, "steps": [WELCOME["steps"][0], WELCOME["steps"][2]]}
    with database.write() as session:
        flows.edit_flow(session, flow_id, definition=shorter)
        preview = flows.move_runs(session, flow_id)
    assert [(p.version, p.step_id, p.waiting, p.runs, p.lands_on) for p in preview] == [
        (1, "pause", True, 1, "offer")
    ]
    with database.write() as session:
        flows.move_runs(session, flow_id, apply=True, now=START)
    advance(database, rules, START)
    assert [body for _, body, _ in flow_texts(database)] == [
        "Welcome {{ first_name }}!",
        "10% off this week",
    ]
    assert run_states(database) == {"completed": 1}


def test_a_flow_steps_campaign_cannot_be_paused_or_cancelled_as_a_campaign(
    database: Database,
) -> None:
    flow(database, WELCOME)
    phone = "+12015550401"
    who = contact(database, phone)
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(who, phone), [], START)
    advance(database, policy(), START)
    with database.read() as session:
        step_campaign = session.scalars(select(FlowStepCampaign.campaign_id)).one()
    for act in (campaigns.pause_campaign, campaigns.cancel_campaign):
        with database.write() as session, pytest.raises(Conflict, match="flow"):
            act(session, step_campaign)


def test_erasing_a_contact_takes_its_runs_and_events_with_it(database: Database) -> None:
    flow(database, {"trigger": {"type": "event", "event": "signed"}, "steps": [{"type": "exit"}]})
    phone = "+12015550402"
    who = contact(database, phone)
    with database.write() as session:
        flows.record_event(
            session, flows.EventInput("signed", phone=phone, properties={"a": "b"}), "US", SECRET
        )
    with database.write() as session:
        erasure.erase_contact(session, SECRET, who)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert session.scalar(select(func.count()).select_from(FlowRun)) == 0


def test_an_event_starts_no_run_for_a_contact_who_opted_out(database: Database) -> None:
    flow(database, {"trigger": {"type": "event", "event": "signed"}, "steps": [{"type": "exit"}]})
    phone = "+12015550403"
    who = contact(database, phone)
    with database.write() as session:
        stored = session.get(Contact, who)
        assert stored is not None
        consent.opt_out(session, SECRET, stored, consent.Evidence("test"))
    with database.write() as session:
        recorded = flows.record_event(
            session, flows.EventInput("signed", phone=phone), "US", SECRET
        )
        assert recorded.event.outcome == "not_subscribed"
        assert recorded.event.runs_started == 0
    assert run_states(database) == {}


def test_a_flow_keyword_may_not_be_a_reserved_word_nor_a_lists_keyword(
    database: Database,
) -> None:
    with database.write() as session:
        vip = lists.create_list(session, "VIP").id
        session.add(
            ListKeyword(
                word="JOIN",
                list_id=vip,
                double_opt_in=True,
                confirmation_text="Reply Y",
                already_subscribed_text="Already in",
            )
        )
    reserved = {"STOP": "OPT_OUT_KEYWORDS"}
    for word, message in (("stop!", "OPT_OUT_KEYWORDS"), ("Join", "list's keyword")):
        definition = {"trigger": {"type": "keyword", "keyword": word}, "steps": [{"type": "exit"}]}
        with database.write() as session, pytest.raises(InvalidInput, match=message):
            flows.create_flow(session, "K", definition, reserved=reserved)


def test_a_flow_keyword_starts_the_flow_for_a_subscribed_contact(database: Database) -> None:
    flow(
        database,
        {
            "trigger": {"type": "keyword", "keyword": "Sale 24"},
            "steps": [{"type": "send", "body": "Here is the sale"}],
        },
    )
    phone = "+12015550404"
    who = contact(database, phone)
    with database.write() as session:
        assert flows.on_keyword(session, flows.Entrant(who, phone), "  sale-24! ", START) != []
        assert flows.on_keyword(session, flows.Entrant(who, phone), "sales") == []
    advance(database, policy(), START)
    assert flow_texts(database) == [(phone, "Here is the sale", "queued")]


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
