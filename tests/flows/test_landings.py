"""The builder's preview before "save as a new version and move the runs": where each run
would land, computed from the definition not yet saved, is what moving does once it is."""

from tests.flows.helpers import START, advance, contact, flow, policy

from textcast.db import Database
from textcast.domain import flows
from textcast.models import FlowRun

WELCOME = {
    "trigger": {"type": "subscribed"},
    "steps": [
        {"id": "hello", "type": "send", "body": "Welcome!"},
        {"id": "pause", "type": "wait", "for": "2d"},
        {"id": "offer", "type": "send", "body": "10% off this week"},
        {"id": "later", "type": "wait", "for": "5d"},
        {"id": "last", "type": "send", "body": "Our best sellers"},
    ],
}


def test_the_preview_of_an_unsaved_version_is_where_the_move_puts_the_runs(
    database: Database,
) -> None:
    flow_id = flow(database, WELCOME)
    for phone in ("+12015550401", "+12015550402"):
        who = flows.Entrant(contact(database, phone), phone)
        with database.write() as session:
            flows.on_subscribed(session, who, [], START)
    advance(database, policy(), START)
    shorter = {**WELCOME, "steps": [WELCOME["steps"][0], *WELCOME["steps"][2:]]}
    with database.read() as session:
        preview = flows.landings_on(session, flow_id, flows.read_definition(shorter))
        nothing_left = flows.landings_on(
            session, flow_id, flows.read_definition({**WELCOME, "steps": WELCOME["steps"][:1]})
        )
    assert [(p.version, p.step_id, p.waiting, p.runs, p.lands_on) for p in preview] == [
        (1, "pause", True, 2, "offer")
    ]
    assert [p.lands_on for p in nothing_left] == [None]
    with database.write() as session:
        flows.edit_flow(session, flow_id, definition=shorter)
        flows.move_runs(session, flow_id, apply=True, now=START)
    with database.read() as session:
        assert {(r.position, r.waiting) for r in session.query(FlowRun)} == {("offer", False)}
