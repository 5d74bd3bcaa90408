"""`/api/v1/events`: an event starts the flows it triggers, wakes the runs waiting for it and
ends the runs whose goal it is; one nobody listens to, or for nobody textcast knows, is stored
and counted with a message saying so; a retried post with the same key does nothing again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.factories import authorize, bearer, make_api_key, numbers
from tests.flows.helpers import advance, policy
from tests.web.test_flows_api import CART, FLOWS, contact, created, ok, problems

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts.permissions import Scope
from textcast.models import Contact, Event, FlowRun, Role, utcnow
from textcast.web.app import create_app

EVENTS = "/api/v1/events"
UNHEARD = "No live flow listens to 'wishlist_viewed'; the event is stored and counted."
NO_CONTACT = (
    "No contact has this number; the event is stored. A flow creates the contact only when it "
    "says so (create_contacts)."
)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, secret_key="tests", default_region="US")
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.EDITOR)
        yield client


def publish(client: TestClient, definition: dict[str, Any], name: str = "Cart") -> int:
    answer = client.post(FLOWS, json={"name": name, "definition": definition, "publish": True})
    return int(created(answer)["id"])


def runs(database: Database) -> list[tuple[int, str]]:
    with database.read() as session:
        return [
            (contact_id, str(status))
            for contact_id, status in session.execute(
                select(FlowRun.contact_id, FlowRun.status).order_by(FlowRun.id)
            )
        ]


def test_an_event_starts_the_flows_it_triggers_and_its_goal_ends_them(
    client: TestClient, database: Database
) -> None:
    publish(client, CART)
    phone = numbers(1)[0]
    contact_id = contact(client, phone)
    posted = created(
        client.post(
            EVENTS,
            json={
                "phone": "(201) 555-0000",
                "name": "cart_abandoned",
                "properties": {"cart_url": "https://shop.example/c/1", "total": 59.9},
                "occurred_at": "2026-06-01T10:00:00Z",
            },
        )
    )
    assert posted["outcome"] == "matched"
    assert (posted["contact_id"], posted["phone"]) == (contact_id, phone)
    assert (posted["runs_started"], posted["runs_resumed"], posted["runs_ended"]) == (1, 0, 0)
    assert posted["message"] == (
        "Matched: 1 run started, 0 runs resumed, 0 runs ended at their goal."
    )
    assert posted["properties"] == {"cart_url": "https://shop.example/c/1", "total": 59.9}
    assert posted["occurred_at"].startswith("2026-06-01T10:00:00")
    assert runs(database) == [(contact_id, "active")]

    goal = created(client.post(EVENTS, json={"contact_id": contact_id, "name": "order_placed"}))
    assert (goal["outcome"], goal["runs_ended"]) == ("matched", 1)
    assert runs(database) == [(contact_id, "goal")]


def test_a_wait_for_an_event_wakes_when_it_is_posted(
    client: TestClient, database: Database
) -> None:
    publish(
        client,
        {
            "trigger": {"type": "event", "event": "checkout_started"},
            "steps": [
                {"id": "pay", "type": "wait", "until_event": "paid", "timeout": "1d"},
                {"id": "thanks", "type": "exit"},
            ],
        },
    )
    phone = numbers(1)[0]
    contact(client, phone)
    created(client.post(EVENTS, json={"phone": phone, "name": "checkout_started"}))
    advance(database, policy(), utcnow())
    with database.read() as session:
        assert session.scalars(select(FlowRun.waiting_for)).all() == ["paid"]

    paid = created(client.post(EVENTS, json={"phone": phone, "name": "paid"}))
    assert (paid["outcome"], paid["runs_resumed"], paid["runs_started"]) == ("matched", 1, 0)
    advance(database, policy(), utcnow())
    assert [status for _, status in runs(database)] == ["exited"]


def test_an_event_nobody_listens_to_is_stored_and_counted(client: TestClient) -> None:
    publish(client, CART)
    phone = numbers(1)[0]
    contact(client, phone)
    for _ in range(2):
        unheard = created(client.post(EVENTS, json={"phone": phone, "name": "wishlist_viewed"}))
        assert (unheard["outcome"], unheard["message"]) == ("unheard", UNHEARD)
        assert unheard["runs_started"] == 0
    created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))

    summary = ok(client.get(f"{EVENTS}/summary"))
    assert summary["counts"] == [
        {"name": "wishlist_viewed", "outcome": "unheard", "count": 2},
        {"name": "cart_abandoned", "outcome": "matched", "count": 1},
    ]
    assert summary["by_outcome"] == {
        "matched": 1,
        "unheard": 2,
        "no_contact": 0,
        "not_subscribed": 0,
    }
    later = ok(client.get(f"{EVENTS}/summary", params={"since": "2999-01-01T00:00:00Z"}))
    assert later["counts"] == []

    listed = ok(client.get(EVENTS, params={"outcome": "unheard", "limit": 1}))
    assert [e["name"] for e in listed["items"]] == ["wishlist_viewed"]
    rest = ok(client.get(EVENTS, params={"outcome": "unheard", "cursor": listed["next_cursor"]}))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert problems(client.get(EVENTS, params={"outcome": "lost"})) == {
        "outcome": "must be one of matched, unheard, no_contact, not_subscribed"
    }


def test_an_event_for_an_unknown_number_is_stored_and_creates_a_contact_only_if_asked(
    client: TestClient, database: Database
) -> None:
    publish(client, CART)
    stranger, newcomer = numbers(2, start=50)
    unknown = created(client.post(EVENTS, json={"phone": stranger, "name": "cart_abandoned"}))
    assert (unknown["outcome"], unknown["contact_id"]) == ("no_contact", None)
    assert unknown["message"] == NO_CONTACT
    by_id = created(client.post(EVENTS, json={"contact_id": 999999, "name": "cart_abandoned"}))
    assert by_id["outcome"] == "no_contact"
    assert by_id["message"].startswith("No contact has this id; the event is stored.")
    assert runs(database) == []

    publish(
        client,
        {
            "trigger": {"type": "event", "event": "signed_up_in_store"},
            "create_contacts": True,
            "steps": [{"id": "hello", "type": "send", "body": "Welcome to our texts!"}],
        },
        name="In store",
    )
    made = created(client.post(EVENTS, json={"phone": newcomer, "name": "signed_up_in_store"}))
    assert made["outcome"] == "matched" and made["runs_started"] == 1
    with database.read() as session:
        phones = session.scalars(select(Contact.phone)).all()
    assert phones == [newcomer]
    assert runs(database) == [(made["contact_id"], "active")]
    summary = ok(client.get(f"{EVENTS}/summary"))
    assert summary["by_outcome"] == {
        "matched": 1,
        "unheard": 0,
        "no_contact": 2,
        "not_subscribed": 0,
    }


def test_an_event_of_a_contact_who_opted_out_starts_nothing_but_still_reaches_its_goal(
    client: TestClient, database: Database
) -> None:
    publish(client, CART)
    phone = numbers(1)[0]
    contact_id = contact(client, phone)
    created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))
    assert ok(client.post(f"/api/v1/contacts/{contact_id}/opt-out", json={}))["id"] == contact_id
    assert runs(database) == [(contact_id, "stopped")]

    refused = created(client.post(EVENTS, json={"phone": phone, "name": "cart_abandoned"}))
    assert (refused["outcome"], refused["runs_started"]) == ("not_subscribed", 0)
    assert refused["message"].startswith(
        "The contact is not subscribed (opted out, or an invalid number): the event is stored "
        "and no flow starts for it"
    )
    assert runs(database) == [(contact_id, "stopped")]
    summary = ok(client.get(f"{EVENTS}/summary"))["by_outcome"]
    assert summary == {"matched": 1, "unheard": 0, "no_contact": 0, "not_subscribed": 1}


def test_a_retried_post_with_the_same_key_is_harmless(
    client: TestClient, database: Database
) -> None:
    publish(client, CART)
    phone = numbers(1)[0]
    contact(client, phone)
    body = {"phone": phone, "name": "cart_abandoned", "idempotency_key": "cart-42"}
    first = client.post(EVENTS, json=body)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = client.post(EVENTS, json=body)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()

    headed = {"phone": phone, "name": "cart_abandoned"}
    one = client.post(EVENTS, json=headed, headers={"Idempotency-Key": "cart-43"})
    two = client.post(EVENTS, json=headed, headers={"Idempotency-Key": "cart-43"})
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["idempotency_key"] == "cart-43" and two.json()["id"] == one.json()["id"]
    same = client.post(EVENTS, json=body, headers={"Idempotency-Key": "cart-42"})
    assert same.status_code == 200
    clash = client.post(EVENTS, json=body, headers={"Idempotency-Key": "cart-99"})
    assert problems(clash) == {
        "idempotency_key": "differs from the Idempotency-Key header: give one key, or the same "
        "in both"
    }
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2
    assert len(runs(database)) == 2


def test_bad_events_are_refused_naming_the_field(client: TestClient) -> None:
    nobody = problems(client.post(EVENTS, json={"name": "order_placed"}))
    assert nobody == {"phone": "give the phone number or the contact_id"}
    both = problems(
        client.post(EVENTS, json={"name": "order_placed", "phone": numbers(1)[0], "contact_id": 1})
    )
    assert both == {"contact_id": "give the phone number or the contact_id"}
    named = problems(client.post(EVENTS, json={"name": "order placed!", "contact_id": 1}))
    assert named["name"].startswith("must be an event name")
    future = problems(
        client.post(
            EVENTS,
            json={"name": "x", "contact_id": 1, "occurred_at": "2999-01-01T00:00:00Z"},
        )
    )
    assert future == {"occurred_at": "is in the future"}
    nested = problems(
        client.post(EVENTS, json={"name": "x", "contact_id": 1, "properties": {"a": {"b": 1}}})
    )
    assert list(nested) == ["properties.a"]
    unknown = problems(client.post(EVENTS, json={"name": "x", "contact_id": 1, "props": {}}))
    assert list(unknown) == ["props"]
    too_long = problems(
        client.post(EVENTS, json={"name": "x", "contact_id": 1, "idempotency_key": "k" * 201})
    )
    assert too_long == {"idempotency_key": "must be 1 to 200 characters"}
    # PostgreSQL text cannot hold NUL: refused as a 400 on both engines, never a 500.
    assert list(problems(client.get(EVENTS, params={"name": "a\x00"}))) == ["query.name"]


def test_a_shop_posts_events_with_a_send_scoped_api_key(
    client: TestClient, database: Database
) -> None:
    publish(client, CART)
    phone = numbers(1)[0]
    contact(client, phone)
    shop = {"X-API-Key": make_api_key(database, Role.EDITOR, frozenset({Scope.SEND}))}
    reader = bearer(make_api_key(database, Role.EDITOR, frozenset({Scope.READ})))
    event = {"phone": phone, "name": "cart_abandoned"}
    assert client.post(EVENTS, json=event, headers=shop).status_code == 201
    refused = client.post(EVENTS, json=event, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["message"] == "this needs the send permission"
    huge = {**event, "properties": {"note": "x" * (1024 * 1024)}}
    too_large = client.post(EVENTS, json=huge, headers=shop)
    assert too_large.status_code == 413 and too_large.json()["error"] == "body_too_large"
