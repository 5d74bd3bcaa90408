"""Each step and each wait: sends (merge fields, event properties, short links), waits for a
duration, until a local time, until a date attribute, until an event (it comes, or the timeout
does), branches on every condition, updates and exits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.factories import numbers
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
)

from textcast.db import Database
from textcast.domain import flows
from textcast.domain.audience import contacts, lists, segments
from textcast.domain.content import links, templates
from textcast.models import Campaign, Contact, InboundMessage, Link, ListMember, Message

SAY_HI = {"id": "hi", "type": "send", "body": "Hi"}


def _go(database: Database, phone: str, now: datetime, name: str = "go", **props: Any) -> None:
    """Post the event `name` for `phone` (the flows here start on `go`)."""
    with database.write() as session:
        flows.record_event(
            session, flows.EventInput(name, phone=phone, properties=props), "US", SECRET, now
        )


def _on_go(database: Database, steps: list[dict[str, Any]], **rules: Any) -> int:
    return flow(database, {"trigger": {"type": "event", "event": "go"}, "steps": steps, **rules})


def _texts_to(database: Database, phone: str) -> list[str]:
    """The texts `phone` was given, as it receives them (merge fields and short links filled)."""
    with database.read() as session:
        rows = session.execute(
            select(Campaign.body, Message.variables)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(Message.phone == phone)
            .order_by(Message.id)
        ).all()
    rendered = []
    for body, values in rows:
        template = templates.parse(body).with_fields_for(links.find_urls(body))
        rendered.append(template.render(values or {}))
    return rendered


def test_a_send_fills_in_the_contact_and_the_event_and_shortens_links(database: Database) -> None:
    rules = policy(short_link_base="https://t.example")
    phone = numbers(1)[0]
    contact(database, phone, first_name="Ana")
    _on_go(
        database,
        [
            {
                "id": "nudge",
                "type": "send",
                "body": "Hi {{ first_name }}, your cart: {{ event.cart_url }} "
                "or see https://shop.example/sale",
            }
        ],
    )
    _go(database, phone, START, cart_url="https://shop.example/cart/42")
    assert advance(database, rules, START).queued == 1
    [text] = _texts_to(database, phone)
    with database.read() as session:
        [link] = session.scalars(select(Link)).all()
    assert link.url == "https://shop.example/sale"
    assert text == (
        f"Hi Ana, your cart: https://shop.example/cart/42 or see https://t.example/l/{link.code}"
    )


def test_a_wait_for_a_duration_holds_the_run_that_long(database: Database) -> None:
    rules = policy()
    phone = numbers(1)[0]
    contact(database, phone)
    _on_go(
        database,
        [
            {"id": "rest", "type": "wait", "for": "2h"},
            {"id": "ping", "type": "send", "body": "Two hours later"},
        ],
    )
    _go(database, phone, START)
    advance(database, rules, START)
    [run] = runs_of(database)
    assert (run.waiting, run.wake_at) == (True, START + timedelta(hours=2))
    assert advance(database, rules, START + timedelta(hours=1, minutes=59)).woken == 0
    advance(database, rules, START + timedelta(hours=2))
    assert [body for _, body, _ in flow_texts(database)] == ["Two hours later"]


def test_a_wait_until_a_time_of_day_ends_at_that_hour_in_the_contacts_zone(
    database: Database,
) -> None:
    phones = numbers(2)
    with database.write() as session:
        for phone, zone in zip(phones, ("America/New_York", "Asia/Tokyo"), strict=True):
            draft = contacts.ContactDraft(phone=phone, time_zone=zone)
            contacts.create_contact(session, draft, "US", "test", SECRET)
    _on_go(database, [{"id": "morning", "type": "wait", "until_time": "09:00"}])
    for phone in phones:
        _go(database, phone, START)  # 12:00 in New York, 01:00 (2 June) in Tokyo
    advance(database, policy(), START)
    wakes = [run.wake_at for run in runs_of(database)]
    assert wakes == [datetime(2026, 6, 2, 13, tzinfo=UTC), datetime(2026, 6, 2, 0, tzinfo=UTC)]


def test_a_wait_until_a_date_attribute_ends_on_that_date_in_the_contacts_zone(
    database: Database,
) -> None:
    """A wait until 2026-06-10 at 09:00 for a New York contact ends at 09:00 on 10 June there
    (it used to end a day early: on 9 June)."""
    phones = numbers(4)
    contact(database, phones[0], attributes={"renewal": "2026-06-10"})
    contact(database, phones[1], attributes={"renewal": "05-20"})  # yearly: next year's
    contact(database, phones[2], attributes={"renewal": "2026-05-20"})  # past: no wait
    contact(database, phones[3])
    _on_go(
        database,
        [
            {"id": "until", "type": "wait", "until_date": "renewal", "time": "09:00"},
            {"id": "remind", "type": "send", "body": "Your plan renews today"},
        ],
    )
    for phone in phones:
        _go(database, phone, START)
    advance(database, policy(), START)
    waits = [(run.waiting, run.wake_at) for run in runs_of(database)]
    assert waits == [
        (True, datetime(2026, 6, 10, 13, tzinfo=UTC)),
        (True, datetime(2027, 5, 20, 13, tzinfo=UTC)),
        (False, None),
        (False, None),
    ]
    assert [phone for phone, _, _ in flow_texts(database)] == phones[2:]


def _waiting_for_payment(database: Database) -> tuple[list[str], int]:
    phones = numbers(2)
    for phone in phones:
        contact(database, phone)
    flow_id = _on_go(
        database,
        [
            {"id": "pay", "type": "wait", "until_event": "paid", "timeout": "1d"},
            {
                "id": "came",
                "type": "branch",
                "if": {"kind": "arrived"},
                "yes": [{"id": "thanks", "type": "send", "body": "Thanks for {{ event.amount }}"}],
                "no": [{"id": "nudge", "type": "send", "body": "Still time to pay"}],
            },
        ],
    )
    for phone in phones:
        _go(database, phone, START)
    advance(database, policy(), START)
    return phones, flow_id


def test_a_wait_for_an_event_ends_when_it_comes_with_its_properties(database: Database) -> None:
    (paying, _), _ = _waiting_for_payment(database)
    later = START + timedelta(hours=3)
    _go(database, paying, later, name="paid", amount="$20")
    assert advance(database, policy(), later).woken == 1
    assert _texts_to(database, paying) == ["Thanks for $20"]
    run = runs_of(database)[0]
    assert history(database, run.id) == [
        ("pay", "waiting"),
        ("came", "yes"),
        ("thanks", "sent"),
    ]
    assert run.status == "completed"


def test_a_wait_for_an_event_ends_at_its_timeout_without_it(database: Database) -> None:
    (_, silent), _ = _waiting_for_payment(database)
    assert advance(database, policy(), START + timedelta(hours=23)).woken == 0
    advance(database, policy(), START + timedelta(days=1))
    assert _texts_to(database, silent) == ["Still time to pay"]
    # The event coming after the timeout wakes nothing.
    _go(database, silent, START + timedelta(days=2), name="paid", amount="$20")
    assert advance(database, policy(), START + timedelta(days=2)).woken == 0
    assert _texts_to(database, silent) == ["Still time to pay"]


def _answers(database: Database, flow_id: int) -> dict[str, str]:
    """Each contact's phone and its branch's answer (yes / no)."""
    found = {}
    for run in runs_of(database, flow_id):
        [(_, answer)] = [step for step in history(database, run.id) if step[0] == "test"]
        found[run.phone] = answer
    return found


def _branching_on(database: Database, condition: dict[str, Any]) -> int:
    return _on_go(
        database,
        [
            {
                "id": "test",
                "type": "branch",
                "if": condition,
                "yes": [{"id": "y", "type": "update", "set": {"answer": "yes"}}],
                "no": [{"id": "n", "type": "update", "set": {"answer": "no"}}],
            }
        ],
    )


@pytest.mark.parametrize(
    ("condition", "yes_attributes", "no_attributes"),
    [
        ({"kind": "attribute", "name": "plan", "value": "Gold"}, {"plan": "gold"}, {"plan": "x"}),
        (
            {"kind": "attribute", "name": "points", "op": "greater_than", "value": 100},
            {"points": "150"},
            {"points": "99"},
        ),
        ({"kind": "attribute", "name": "plan", "op": "is_set"}, {"plan": "x"}, {}),
    ],
)
def test_a_branch_on_an_attribute(
    database: Database,
    condition: dict[str, Any],
    yes_attributes: dict[str, str],
    no_attributes: dict[str, str],
) -> None:
    yes, no = numbers(2)
    contact(database, yes, attributes=yes_attributes)
    contact(database, no, attributes=no_attributes)
    flow_id = _branching_on(database, condition)
    _go(database, yes, START)
    _go(database, no, START)
    advance(database, policy(), START)
    assert _answers(database, flow_id) == {yes: "yes", no: "no"}
    with database.read() as session:
        answers = {c.phone: c.attributes["answer"] for c in session.scalars(select(Contact))}
    assert answers == {yes: "yes", no: "no"}


def test_a_branch_on_an_event_property(database: Database) -> None:
    yes, no = numbers(2)
    contact(database, yes)
    contact(database, no)
    flow_id = _branching_on(
        database, {"kind": "event", "name": "total", "op": "greater_than", "value": 100}
    )
    _go(database, yes, START, total=120.5)
    _go(database, no, START, total=80)
    advance(database, policy(), START)
    assert _answers(database, flow_id) == {yes: "yes", no: "no"}


def test_a_branch_on_segment_membership(database: Database) -> None:
    yes, no = numbers(2)
    contact(database, yes, attributes={"plan": "gold"})
    contact(database, no, attributes={"plan": "free"})
    rules = {"conditions": [{"field": "attributes.plan", "op": "eq", "value": "gold"}]}
    with database.write() as session:
        gold = segments.create_segment(session, "Gold", rules).id
    flow_id = _branching_on(database, {"kind": "segment", "segment_id": gold})
    _go(database, yes, START)
    _go(database, no, START)
    advance(database, policy(), START)
    assert _answers(database, flow_id) == {yes: "yes", no: "no"}


def test_a_branch_on_list_membership(database: Database) -> None:
    yes, no = numbers(2)
    member = contact(database, yes)
    contact(database, no)
    with database.write() as session:
        vip = lists.create_list(session, "VIP").id
        lists.add_members(session, vip, [member])
    flow_id = _branching_on(database, {"kind": "list", "list_id": vip})
    _go(database, yes, START)
    _go(database, no, START)
    advance(database, policy(), START)
    assert _answers(database, flow_id) == {yes: "yes", no: "no"}


def test_a_branch_on_a_reply_within_a_window_since_the_run_started(database: Database) -> None:
    """A text from before the contact entered is no reply to the flow (it used to count:
    the keyword that started a flow answered "replied" at once)."""
    yes, before, never = numbers(3)
    for phone in (yes, before, never):
        contact(database, phone)
    with database.write() as session:
        for n, (phone, at) in enumerate(
            ((yes, START + timedelta(minutes=30)), (before, START - timedelta(hours=1)))
        ):
            session.add(
                InboundMessage(
                    provider_id=f"mo-{n}",
                    from_phone=phone,
                    to="+12017777777",
                    body="Sounds good",
                    received_at=at,
                )
            )
    flow_id = _on_go(
        database,
        [
            {"id": "rest", "type": "wait", "for": "1h"},
            {
                "id": "test",
                "type": "branch",
                "if": {"kind": "replied", "within": "1d"},
                "yes": [{"id": "y", "type": "exit"}],
                "no": [{"id": "n", "type": "exit"}],
            },
        ],
    )
    for phone in (yes, before, never):
        _go(database, phone, START)
    advance(database, policy(), START)
    advance(database, policy(), START + timedelta(hours=1))
    assert _answers(database, flow_id) == {yes: "yes", before: "no", never: "no"}


def test_a_branch_on_a_reply_looks_back_over_its_window_only(database: Database) -> None:
    recent, old = numbers(2)
    for phone in (recent, old):
        contact(database, phone)
    flow_id = _on_go(
        database,
        [
            {"id": "rest", "type": "wait", "for": "3d"},
            {
                "id": "test",
                "type": "branch",
                "if": {"kind": "replied", "within": "1d"},
                "yes": [{"id": "y", "type": "exit"}],
                "no": [{"id": "n", "type": "exit"}],
            },
        ],
    )
    for phone in (recent, old):
        _go(database, phone, START)
    with database.write() as session:
        for n, (phone, after) in enumerate(((recent, 60), (old, 30))):
            session.add(
                InboundMessage(
                    provider_id=f"mo-{n}",
                    from_phone=phone,
                    to="+12017777777",
                    body="Hello?",
                    received_at=START + timedelta(hours=after),
                )
            )
    advance(database, policy(), START)
    advance(database, policy(), START + timedelta(days=3))
    assert _answers(database, flow_id) == {recent: "yes", old: "no"}


def test_a_branch_on_a_click_within_a_window(database: Database) -> None:
    # Clicks are stamped with the real time: the flow runs on it too.
    now = datetime.now(UTC)
    rules = policy(short_link_base="https://t.example")
    clicker, idle = numbers(2)
    contact(database, clicker)
    contact(database, idle)
    flow_id = _on_go(
        database,
        [
            {"id": "offer", "type": "send", "body": "Sale: https://shop.example/sale"},
            {"id": "rest", "type": "wait", "for": "1h"},
            {
                "id": "test",
                "type": "branch",
                "if": {"kind": "clicked", "within": "1d"},
                "yes": [{"id": "y", "type": "exit"}],
                "no": [{"id": "n", "type": "send", "body": "Last chance"}],
            },
        ],
    )
    _go(database, clicker, now)
    _go(database, idle, now)
    advance(database, rules, now)
    with database.write() as session:
        code = session.scalar(
            select(Link.code)
            .join(Message, Message.id == Link.message_id)
            .where(Message.phone == clicker)
        )
        assert code is not None
        assert links.record_click(session, code, "visitor-1") == "https://shop.example/sale"
    advance(database, rules, now + timedelta(hours=1))
    assert _answers(database, flow_id) == {clicker: "yes", idle: "no"}
    assert [(phone, body) for phone, body, _ in flow_texts(database)][-1] == (idle, "Last chance")


def test_an_update_sets_attributes_and_moves_the_contact_between_lists(
    database: Database,
) -> None:
    phone = numbers(1)[0]
    ana = contact(database, phone, attributes={"stage": "lead", "old": "x"})
    with database.write() as session:
        leads = lists.create_list(session, "Leads").id
        customers = lists.create_list(session, "Customers").id
        lists.add_members(session, leads, [ana])
    _on_go(
        database,
        [
            {
                "id": "promote",
                "type": "update",
                "set": {"stage": "customer", "old": None, "orders": 1},
                "add_to_list": customers,
                "remove_from_list": leads,
            }
        ],
    )
    _go(database, phone, START)
    advance(database, policy(), START)
    with database.read() as session:
        found = session.get(Contact, ana)
        assert found is not None
        assert found.attributes == {"stage": "customer", "orders": "1"}
        assert set(session.scalars(select(ListMember.list_id))) == {customers}
    [run] = runs_of(database)
    assert history(database, run.id) == [("promote", "updated")]


def test_an_exit_ends_the_run_before_the_steps_after_its_branch(database: Database) -> None:
    vip, other = numbers(2)
    contact(database, vip, attributes={"plan": "vip"})
    contact(database, other, attributes={"plan": "free"})
    _on_go(
        database,
        [
            {
                "id": "test",
                "type": "branch",
                "if": {"kind": "attribute", "name": "plan", "value": "vip"},
                "yes": [{"id": "out", "type": "exit"}],
                "no": [],
            },
            {"id": "pitch", "type": "send", "body": "Upgrade to VIP"},
        ],
    )
    _go(database, vip, START)
    _go(database, other, START)
    advance(database, policy(), START)
    assert [phone for phone, _, _ in flow_texts(database)] == [other]
    states = {run.phone: (str(run.status), run.end_reason) for run in runs_of(database)}
    assert states == {
        vip: ("exited", "reached the exit step out"),
        other: ("completed", "went through every step"),
    }


def test_a_branch_on_a_deleted_segment_answers_no_and_the_engine_goes_on(
    database: Database,
) -> None:
    """Nothing stops deleting a segment a flow's branch names; the engine used to fail every
    chunk holding such a run, and so stopped moving every other run too."""
    yes, other = numbers(2)
    contact(database, yes, attributes={"plan": "gold"})
    contact(database, other)
    rules = {"conditions": [{"field": "attributes.plan", "op": "eq", "value": "gold"}]}
    with database.write() as session:
        gold = segments.create_segment(session, "Gold", rules).id
    flow_id = _branching_on(database, {"kind": "segment", "segment_id": gold})
    flow(database, {"trigger": {"type": "event", "event": "hi"}, "steps": [SAY_HI]}, "Hi")
    with database.write() as session:
        segments.delete_segment(session, gold)
    _go(database, yes, START)
    _go(database, other, START, name="hi")
    advance(database, policy(), START)
    assert _answers(database, flow_id) == {yes: "no"}
    assert [(phone, body) for phone, body, _ in flow_texts(database)] == [(other, "Hi")]
