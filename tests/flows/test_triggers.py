"""Every way a contact enters a flow: a sign-up (form, keyword), an import, the API, a list
addition, a flow's keyword, an event, a date at a local time, a segment entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.factories import SIGNUP_POLICY, authorize, make_keyword, numbers
from tests.flows.helpers import (
    SECRET,
    Clock,
    contact,
    engine,
    flow,
    runs_of,
)

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import flows, signups
from textcast.domain.audience import contacts, lists, segments, suppressions
from textcast.domain.imports import jobs as imports
from textcast.domain.inbox.replies import handle_inbound
from textcast.models import Contact, ContactStatus, FlowSegmentMember, InboundMessage, SignupChannel
from textcast.runtime import reply_policy
from textcast.web.app import create_app

HELLO = [{"id": "hello", "type": "send", "body": "Hello!"}]


def _subscribed_flows(database: Database) -> tuple[int, int, int, int, int]:
    """Lists VIP and Other, and flows on any subscription, on VIP's and on Other's."""
    with database.write() as session:
        vip = lists.create_list(session, "VIP").id
        other = lists.create_list(session, "Other").id
    anyone = flow(database, {"trigger": {"type": "subscribed"}, "steps": HELLO}, "Any")
    on_vip = flow(
        database, {"trigger": {"type": "subscribed", "list_id": vip}, "steps": HELLO}, "VIP"
    )
    on_other = flow(
        database, {"trigger": {"type": "subscribed", "list_id": other}, "steps": HELLO}, "Other"
    )
    return vip, other, anyone, on_vip, on_other


def _inbound(database: Database, phone: str, body: str, **policies: Any) -> None:
    with database.write() as session:
        message = InboundMessage(
            provider_id=f"mo-{phone}-{body}",
            from_phone=phone,
            to="+12017777777",
            body=body,
            received_at=datetime.now(UTC),
        )
        session.add(message)
        session.flush()
        rules = reply_policy(load_settings(secret_key=SECRET.decode()))
        handle_inbound(session, SECRET, rules, message, policies.get("signup_policy"))


def _started(database: Database) -> set[tuple[int, int]]:
    """(flow id, contact id) of every run."""
    return {(run.flow_id, run.contact_id) for run in runs_of(database)}


def _contact_id(database: Database, phone: str) -> int:
    with database.read() as session:
        found = contacts.find_by_phone(session, phone)
        assert found is not None
        return found.id


def test_a_confirmed_form_signup_starts_the_flows_of_any_subscription_and_of_its_list(
    database: Database,
) -> None:
    vip, _, anyone, on_vip, _ = _subscribed_flows(database)
    phone = numbers(1)[0]
    request = signups.SignupRequest(
        channel=SignupChannel.FORM,
        phone=phone,
        list_id=vip,
        double_opt_in=True,
        confirmation_text="Reply Y to join VIP texts from Shop.",
        welcome_text=None,
    )
    with database.write() as session:
        signups.start_signup(session, SIGNUP_POLICY, request)
    assert runs_of(database) == []  # a pending sign-up has not subscribed anyone
    _inbound(database, phone, "Y", signup_policy=SIGNUP_POLICY)
    ana = _contact_id(database, phone)
    assert _started(database) == {(anyone, ana), (on_vip, ana)}


def test_a_list_keyword_signup_starts_the_flows_of_that_list(database: Database) -> None:
    vip, _, anyone, on_vip, _ = _subscribed_flows(database)
    make_keyword(database, vip, "JOIN", double_opt_in=False)
    phone = numbers(1)[0]
    _inbound(database, phone, "join", signup_policy=SIGNUP_POLICY)
    ana = _contact_id(database, phone)
    assert _started(database) == {(anyone, ana), (on_vip, ana)}


def test_an_import_starts_new_subscribers_and_those_it_puts_on_the_list(
    database: Database, tmp_path: Path
) -> None:
    vip, _, anyone, on_vip, _ = _subscribed_flows(database)
    new, opted_out, known, member, gone = numbers(5)
    known_id = contact(database, known)
    member_id = contact(database, member)
    gone_id = contact(database, gone)
    with database.write() as session:
        lists.add_members(session, vip, [member_id])
        suppressions.suppress(session, SECRET, opted_out, "STOP")
        session.execute(
            update(Contact).where(Contact.id == gone_id).values(status=ContactStatus.UNSUBSCRIBED)
        )
    source = tmp_path / "contacts.csv"
    source.write_text("phone,first_name\n" + "".join(f"{p},X\n" for p in numbers(5)))
    with database.write() as session:
        job = imports.start_import(
            session,
            path=source,
            filename=source.name,
            default_region="US",
            consent_confirmed=True,
            list_name="VIP",
        )
    done = imports.run_import(database, job.id, source, SECRET)
    assert (done.created, done.updated, done.kept_opted_out) == (1, 2, 2)
    new_id = _contact_id(database, new)
    # The new subscriber starts both; a known contact put on the list starts the list's flow
    # only; one already on the list, an opted-out number or an unsubscribed contact nothing.
    assert _started(database) == {(anyone, new_id), (on_vip, new_id), (on_vip, known_id)}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, default_region="US", secret_key="api-t")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def test_a_contact_created_by_the_api_starts_the_subscription_flows_and_a_list_its_own(
    database: Database, client: TestClient
) -> None:
    vip, _, anyone, on_vip, _ = _subscribed_flows(database)
    first, second = numbers(2)
    created = client.post("/api/v1/contacts", json={"phone": first})
    assert created.status_code == 201, created.text
    ana = created.json()["id"]
    assert _started(database) == {(anyone, ana)}
    bob = contact(database, second)  # created in the domain: no trigger (as a test fixture)
    with database.write() as session:
        session.execute(
            update(Contact).where(Contact.id == bob).values(status=ContactStatus.UNSUBSCRIBED)
        )
    added = client.post(f"/api/v1/lists/{vip}/members", json={"contact_ids": [ana, bob]})
    assert added.json() == {"added": 2}
    assert _started(database) == {(anyone, ana), (on_vip, ana)}  # bob is not subscribed
    again = client.post(f"/api/v1/lists/{vip}/members", json={"contact_ids": [ana]})
    assert again.json() == {"added": 0}
    assert len(runs_of(database)) == 2


def test_the_cli_path_creates_a_contact_on_lists_and_starts_their_flows(
    database: Database,
) -> None:
    from textcast.services import audience

    _, other, anyone, _, on_other = _subscribed_flows(database)
    made = audience.create_contact(
        database,
        SECRET,
        contacts.ContactDraft(numbers(1)[0]),
        default_region="US",
        source="cli",
        list_ids=[other],
    )
    assert _started(database) == {(anyone, made.id), (on_other, made.id)}
    with database.write() as session:
        suppressions.suppress(session, SECRET, numbers(1, start=9)[0], "STOP")
    refused = audience.create_contact(
        database,
        SECRET,
        contacts.ContactDraft(numbers(1, start=9)[0]),
        default_region="US",
        source="cli",
    )
    assert refused.status == ContactStatus.UNSUBSCRIBED
    assert len(runs_of(database)) == 2  # a number that said STOP starts nothing


def test_a_flow_keyword_from_a_subscribed_contact_starts_it(database: Database) -> None:
    vip = flow(database, {"trigger": {"type": "keyword", "keyword": "VIP"}, "steps": HELLO})
    known, stranger = numbers(2)
    ana = contact(database, known)
    _inbound(database, known, "  vip ")
    _inbound(database, stranger, "VIP")
    _inbound(database, known, "VIPS")
    assert _started(database) == {(vip, ana)}


def test_an_event_starts_its_flow_with_its_properties(database: Database) -> None:
    carts = flow(
        database, {"trigger": {"type": "event", "event": "cart_abandoned"}, "steps": HELLO}
    )
    phone = numbers(1)[0]
    ana = contact(database, phone)
    with database.write() as session:
        posted = flows.record_event(
            session,
            flows.EventInput(
                "cart_abandoned", phone=phone, properties={"cart_url": "https://s.x/1"}
            ),
            "US",
            SECRET,
        )
        assert posted.event.runs_started == 1
        flows.record_event(session, flows.EventInput("order_placed", phone=phone), "US", SECRET)
    [run] = runs_of(database)
    assert (run.flow_id, run.contact_id) == (carts, ana)
    assert run.context == {"event": {"cart_url": "https://s.x/1"}}


def _dated(database: Database, phone: str, zone: str, **attributes: str) -> int:
    with database.write() as session:
        draft = contacts.ContactDraft(phone=phone, time_zone=zone, attributes=attributes)
        return contacts.create_contact(session, draft, "US", "test", SECRET).id


def test_a_date_trigger_starts_each_contact_at_10_local_on_the_day_once_a_year(
    database: Database,
) -> None:
    phones = numbers(5)
    new_york = _dated(database, phones[0], "America/New_York", birthday="1990-06-01")
    tokyo = _dated(database, phones[1], "Asia/Tokyo", birthday="06-02")
    leap = _dated(database, phones[2], "Europe/London", birthday="2000-02-29")
    _dated(database, phones[3], "America/New_York", birthday="not a date")
    quiet = _dated(database, phones[4], "America/New_York", birthday="06-01")
    with database.write() as session:
        session.execute(
            update(Contact).where(Contact.id == quiet).values(status=ContactStatus.UNSUBSCRIBED)
        )
    birthdays = flow(
        database,
        {"trigger": {"type": "date", "attribute": "birthday", "time": "10:00"}, "steps": HELLO},
    )
    clock = Clock(datetime(2026, 6, 1, 13, 59, 40, tzinfo=UTC))  # 09:59:40 in New York
    flow_engine = engine(database, clock)
    flow_engine.tick()
    assert runs_of(database) == []
    clock.now += timedelta(seconds=30)  # past 10:00 in New York, but the last look was 30 s ago
    flow_engine.tick()
    assert runs_of(database) == []
    clock.now += timedelta(seconds=30)
    flow_engine.tick()
    [run] = runs_of(database)
    assert (run.contact_id, run.occurrence, run.started_at) == (new_york, "2026-06-01", clock.now)
    # 10:00 on 2 June in Tokyo is 01:00 UTC; New York's birthday does not start again.
    clock.now = datetime(2026, 6, 2, 0, 59, tzinfo=UTC)
    flow_engine.tick()
    assert len(runs_of(database)) == 1
    clock.now = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)
    flow_engine.tick()
    clock.now += timedelta(hours=5)
    flow_engine.tick()
    assert [(r.contact_id, r.occurrence) for r in runs_of(database)] == [
        (new_york, "2026-06-01"),
        (tokyo, "2026-06-02"),
    ]
    assert flow_engine.totals.scanned == 2
    # 29 February: 1 March in a year without one, at 10:00 in London; the re-entry rule
    # (once) does not stop next year's birthday.
    clock.now = datetime(2027, 2, 28, 12, tzinfo=UTC)
    flow_engine.tick()
    clock.now = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    flow_engine.tick()
    clock.now = datetime(2027, 6, 1, 14, 0, tzinfo=UTC)
    flow_engine.tick()
    assert [(r.contact_id, r.occurrence) for r in runs_of(database)][2:] == [
        (leap, "2027-03-01"),
        (new_york, "2027-06-01"),
    ]
    assert [r.entry for r in runs_of(database) if r.contact_id == new_york] == [1, 2]
    with database.read() as session:
        assert flows.get_flow(session, birthdays).scanned_at == clock.now


def test_a_segment_trigger_starts_contacts_as_they_enter_the_segment(database: Database) -> None:
    first, second, third = numbers(3)
    already = _dated(database, first, "America/New_York", plan="gold")
    later = _dated(database, second, "America/New_York", plan="free")
    _dated(database, third, "America/New_York", plan="free")
    rules = {
        "match": "all",
        "conditions": [{"field": "attributes.plan", "op": "eq", "value": "gold"}],
    }
    with database.write() as session:
        gold = segments.create_segment(session, "Gold", rules).id
    flow(
        database,
        {"trigger": {"type": "segment", "segment_id": gold}, "reentry": "always", "steps": HELLO},
    )
    clock = Clock()
    flow_engine = engine(database, clock)
    flow_engine.tick()
    # The first look only notes who is there: they were in the segment, they did not enter.
    assert runs_of(database) == []
    with database.read() as session:
        assert session.query(FlowSegmentMember.contact_id).all() == [(already,)]

    def set_plan(contact_id: int, plan: str) -> None:
        with database.write() as session:
            contacts.update_contact(session, contact_id, {"attributes": {"plan": plan}})

    set_plan(later, "gold")
    clock.now += timedelta(minutes=1)
    flow_engine.tick()
    assert [r.contact_id for r in runs_of(database)] == [later]
    clock.now += timedelta(minutes=1)
    flow_engine.tick()
    assert len(runs_of(database)) == 1  # still there: not entering again
    set_plan(already, "free")
    set_plan(later, "free")
    clock.now += timedelta(minutes=1)
    flow_engine.tick()
    set_plan(already, "gold")
    set_plan(later, "gold")
    clock.now += timedelta(days=1)
    flow_engine.tick()
    # They left and came back: that is entering (again, for `later`: re-entry "always").
    assert Counter(r.contact_id for r in runs_of(database)) == {later: 2, already: 1}


def test_a_flow_keyword_of_two_words_matches_however_it_is_spaced(database: Database) -> None:
    club = flow(database, {"trigger": {"type": "keyword", "keyword": "VIP  club"}, "steps": HELLO})
    phone = numbers(1)[0]
    ana = contact(database, phone)
    _inbound(database, phone, "vip club")
    assert _started(database) == {(club, ana)}


def test_an_event_for_an_opted_out_contact_starts_nothing_and_keeps_its_one_entry(
    database: Database,
) -> None:
    """A run that stopped at once would use up the contact's one entry of a "once" flow."""
    from textcast.domain.audience import consent

    carts = flow(
        database, {"trigger": {"type": "event", "event": "cart_abandoned"}, "steps": HELLO}
    )
    phone = numbers(1)[0]
    ana = contact(database, phone)
    evidence = consent.Evidence("keyword", "STOP")
    with database.write() as session:
        found = session.get(Contact, ana)
        assert found is not None
        consent.opt_out(session, SECRET, found, evidence)
    event = flows.EventInput("cart_abandoned", phone=phone)
    with database.write() as session:
        assert flows.record_event(session, event, "US", SECRET).event.runs_started == 0
    assert runs_of(database) == []
    with database.write() as session:
        found = session.get(Contact, ana)
        assert found is not None
        consent.opt_in(session, SECRET, found, consent.Evidence("keyword", "START"))
    with database.write() as session:
        assert flows.record_event(session, event, "US", SECRET).event.runs_started == 1
    assert _started(database) == {(carts, ana)}


def test_saving_an_unknown_sender_as_a_contact_starts_the_subscription_flows(
    database: Database,
) -> None:
    from textcast.services import audience

    _, _, anyone, _, _ = _subscribed_flows(database)
    phone = numbers(1)[0]
    _inbound(database, phone, "Hello, is this the shop?")
    with database.read() as session:
        inbound_id = session.query(InboundMessage.id).scalar()
    saved = audience.save_sender(
        database,
        SECRET,
        inbound_id,
        contacts.ContactDraft("", consent_evidence="asked in person"),
        default_region="US",
    )
    assert _started(database) == {(anyone, saved.id)}


def test_scans_go_through_the_contacts_a_chunk_at_a_time(database: Database) -> None:
    phones = numbers(7)
    for phone in phones:
        _dated(database, phone, "America/New_York", birthday="06-01", plan="gold")
    rules = {"conditions": [{"field": "attributes.plan", "op": "eq", "value": "gold"}]}
    with database.write() as session:
        gold = segments.create_segment(session, "Gold", rules).id
    birthdays = flow(
        database, {"trigger": {"type": "date", "attribute": "birthday"}, "steps": HELLO}, "B"
    )
    entering = flow(database, {"trigger": {"type": "segment", "segment_id": gold}, "steps": HELLO})
    now = datetime(2026, 6, 1, 15, tzinfo=UTC)  # 11:00 in New York
    with database.write() as session:
        assert flows.scan_due(session, now, chunk=2) == 7  # the segment's first look starts none
    for phone in numbers(3, start=50):
        _dated(database, phone, "America/New_York", plan="gold")
    with database.write() as session:
        assert flows.scan_due(session, now + timedelta(minutes=1), chunk=2) == 3
    with database.read() as session:
        assert session.query(FlowSegmentMember).count() == 10
    assert len(runs_of(database, birthdays)) == 7
    assert len(runs_of(database, entering)) == 3
