"""`/api/v1/conversations` and `/api/v1/quick-replies` over ASGI: threads opened by texts that
arrive through the inbound webhook, listed with counts that agree with the filters, read
without being marked read, answered (queued as a `conversation` campaign, refused to a number
that texted STOP, within the daily quota), assigned, closed and noted; an unknown sender
answered and saved by the thread's id; viewers read but neither answer nor change."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import bearer, make_api_key, make_campaign, make_user, numbers
from tests.web.apps import app_client, inbound_callback, signed_by_sinch

from textcast.db import Database
from textcast.models import Campaign, CampaignKind, Role

API = "/api/v1/conversations"
QUICK = "/api/v1/quick-replies"
ANA, BEN, CAL = numbers(3)
_serial = itertools.count(1)


@pytest.fixture
def client(database_url: str, database: Database) -> Iterator[TestClient]:
    with app_client(database_url) as client:
        client.headers.update(
            bearer(make_api_key(database, Role.EDITOR, email="agent@example.com"))
        )
        yield client


def receive(client: TestClient, phone: str, body: str) -> None:
    """A text from `phone`, as Sinch posts it to the inbound webhook."""
    payload = inbound_callback(next(_serial), phone, body)
    settings = client.app.state.runtime.environment  # type: ignore[attr-defined]
    answer = client.post(
        "/api/webhooks/inbound", content=payload, headers=signed_by_sinch(settings, payload)
    )
    assert answer.status_code == 200, answer.text


def save_contact(client: TestClient, phone: str, first_name: str | None = None) -> int:
    answer = client.post(
        "/api/v1/contacts",
        json={"phone": phone, "first_name": first_name, "consent_evidence": "Signed up in store"},
    )
    assert answer.status_code == 201, answer.text
    contact_id: int = answer.json()["id"]
    return contact_id


def listed(client: TestClient, **params: Any) -> dict[str, Any]:
    answer = client.get(API, params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def phones(page: dict[str, Any]) -> list[str]:
    return [item["phone"] for item in page["items"]]


def fields_at_fault(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 400, answer.text
    return [p["field"] for p in answer.json()["problems"]]


def test_the_list_gives_both_ids_and_counts_that_agree_with_its_filters(
    client: TestClient,
) -> None:
    ana = save_contact(client, ANA, "Ana")
    receive(client, ANA, "Is the sale online too?")
    receive(client, BEN, "Hello?")
    receive(client, CAL, "HELP")

    page = listed(client)
    assert phones(page) == [CAL, BEN, ANA]
    by_phone = {item["phone"]: item for item in page["items"]}
    assert by_phone[ANA]["contact"] == {"id": ana, "name": "Ana"}
    assert by_phone[BEN]["contact"] is None and by_phone[BEN]["id"] > 0
    assert (by_phone[ANA]["unread"], by_phone[ANA]["needs_reply"]) == (1, True)
    assert by_phone[ANA]["last_text"] == "Is the sale online too?"
    # A keyword is answered automatically: it moves the thread up, nothing more.
    assert (by_phone[CAL]["unread"], by_phone[CAL]["needs_reply"]) == (0, False)

    counts = page["counts"]
    assert counts == {"open": 3, "closed": 0, "unread": 2, "needs_reply": 2}
    assert len(listed(client, unread=True)["items"]) == counts["unread"]
    assert len(listed(client, needs_reply=True)["items"]) == counts["needs_reply"]
    assert len(listed(client, state="open")["items"]) == counts["open"]
    assert listed(client, state="closed")["items"] == []
    assert client.get(f"{API}/unread").json() == {"unread": counts["unread"]}


def test_pages_follow_the_cursor_newest_first_to_the_end(client: TestClient) -> None:
    senders = numbers(5, start=20)
    for phone in senders:
        receive(client, phone, "Hi")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = listed(client, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += phones(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == phones(listed(client)) == senders[::-1]
    assert fields_at_fault(client.get(API, params={"cursor": "yesterday"})) == ["cursor"]
    assert fields_at_fault(client.get(API, params={"assignee_id": 1, "unassigned": True})) == [
        "unassigned"
    ]


def test_reading_a_thread_leaves_it_unread_until_marked_read(client: TestClient) -> None:
    ana = save_contact(client, ANA)
    receive(client, ANA, "Do you ship to Canada?")
    receive(client, ANA, "Or only in the US?")

    thread = client.get(f"{API}/{ana}").json()
    assert [(i["direction"], i["body"], i["kind"]) for i in thread["items"]] == [
        ("in", "Or only in the US?", None),
        ("in", "Do you ship to Canada?", None),
    ]
    assert thread["conversation"]["unread"] == 2
    assert client.get(f"{API}/unread").json() == {"unread": 1}

    read = client.patch(f"{API}/{ana}", json={"unread": False})
    assert read.status_code == 200, read.text
    assert read.json()["unread"] == 0
    assert client.get(f"{API}/unread").json() == {"unread": 0}
    assert client.patch(f"{API}/{ana}", json={"unread": True}).json()["unread"] == 1


def test_an_answer_is_queued_as_a_conversation_campaign_with_its_parts(
    client: TestClient, database: Database
) -> None:
    ana = save_contact(client, ANA)
    receive(client, ANA, "Is the sale online too?")

    answer = client.post(f"{API}/{ana}/messages", json={"body": "Yes, online too! 🌸"})
    assert answer.status_code == 201, answer.text
    sent = answer.json()
    assert (sent["contact_id"], sent["phone"], sent["status"]) == (ana, ANA, "queued")
    assert (sent["encoding"], sent["parts"]) == ("UCS-2", 1)
    assert sent["counter"] == {
        "characters": 18,
        "encoding": "UCS-2",
        "length": 19,  # the emoji is two UCS-2 units
        "parts": 1,
        "remaining": 51,
    }
    with database.read() as session:
        campaign = session.get(Campaign, sent["campaign_id"])
        assert campaign is not None and campaign.kind == CampaignKind.CONVERSATION

    thread = client.get(f"{API}/{ana}").json()
    out = thread["items"][0]
    assert (out["direction"], out["body"], out["kind"], out["status"]) == (
        "out",
        "Yes, online too! 🌸",
        "conversation",
        "queued",
    )
    assert out["author"] == "agent@example.com"
    assert out["campaign"]["id"] == sent["campaign_id"]
    assert out["message_id"] == sent["message_id"]
    conversation = thread["conversation"]
    assert (conversation["needs_reply"], conversation["unread"]) == (False, 0)
    assert conversation["last_reply_at"] is not None


def test_an_empty_or_overlong_answer_names_the_body(client: TestClient) -> None:
    ana = save_contact(client, ANA)
    receive(client, ANA, "Hi")
    assert fields_at_fault(client.post(f"{API}/{ana}/messages", json={"body": "  "})) == ["body"]
    too_long = client.post(f"{API}/{ana}/messages", json={"body": "x" * 2001})
    assert fields_at_fault(too_long) == ["body"]
    assert "2000" in too_long.json()["problems"][0]["message"]
    assert fields_at_fault(client.post(f"{API}/{ana}/messages", json={})) == ["body"]


def test_an_answer_after_a_stop_is_refused_with_the_reason(
    client: TestClient, database: Database
) -> None:
    ana = save_contact(client, ANA)
    receive(client, ANA, "How much is shipping?")
    receive(client, ANA, "STOP")
    refused = client.post(f"{API}/{ana}/messages", json={"body": "It is free!"})
    assert refused.status_code == 409, refused.text
    assert "opted out (STOP)" in refused.json()["message"]

    # An unknown sender's STOP is kept as a suppression: refused by the thread's id too.
    receive(client, BEN, "Hi there")
    receive(client, BEN, "STOP")
    ben = phones(listed(client)).index(BEN)
    ben_id = listed(client)["items"][ben]["id"]
    refused = client.post(f"{API}/by-id/{ben_id}/messages", json={"body": "Sorry!"})
    assert refused.status_code == 409, refused.text
    assert "opted out (STOP)" in refused.json()["message"]
    with database.read() as session:
        kinds = session.scalars(select(Campaign.kind)).all()
    assert CampaignKind.CONVERSATION not in kinds


def test_the_daily_quota_refuses_an_answer_with_retry_after(
    database_url: str, database: Database
) -> None:
    with app_client(database_url, daily_recipient_quota=2) as client:
        client.headers.update(bearer(make_api_key(database, Role.EDITOR)))
        receive(client, ANA, "Hello?")
        conversation_id = listed(client)["items"][0]["id"]
        make_campaign(database, numbers(2, start=50), launch=True)
        refused = client.post(f"{API}/by-id/{conversation_id}/messages", json={"body": "Hi!"})
    assert refused.status_code == 429, refused.text
    assert "DAILY_RECIPIENT_QUOTA" in refused.json()["message"]
    assert int(refused.headers["retry-after"]) > 0


def test_a_contact_who_never_texted_gets_a_thread_only_when_subscribed(
    client: TestClient,
) -> None:
    ana = save_contact(client, ANA)
    assert client.get(f"{API}/{ana}").status_code == 404
    assert client.patch(f"{API}/{ana}", json={"state": "closed"}).status_code == 404
    started = client.post(f"{API}/{ana}/messages", json={"body": "Your order shipped."})
    assert started.status_code == 201, started.text
    assert client.get(f"{API}/{ana}").json()["items"][0]["body"] == "Your order shipped."

    ben = save_contact(client, BEN)
    assert client.post(f"/api/v1/contacts/{ben}/opt-out", json={}).status_code == 200
    refused = client.post(f"{API}/{ben}/messages", json={"body": "Hello"})
    assert refused.status_code == 409
    assert "may write first only to a subscribed contact" in refused.json()["message"]
    assert client.post(f"{API}/999999/messages", json={"body": "Hello"}).status_code == 404


def test_an_unknown_sender_is_answered_and_saved_by_the_thread_id(client: TestClient) -> None:
    receive(client, BEN, "Are you open Sunday?")
    [item] = listed(client)["items"]
    assert item["contact"] is None
    thread_id = item["id"]

    thread = client.get(f"{API}/by-id/{thread_id}").json()
    assert thread["items"][0]["body"] == "Are you open Sunday?"
    answer = client.post(f"{API}/by-id/{thread_id}/messages", json={"body": "Yes, 10 to 4."})
    assert answer.status_code == 201, answer.text
    assert (answer.json()["contact_id"], answer.json()["phone"]) == (None, BEN)

    saved = client.post(f"{API}/by-id/{thread_id}/contact", json={"first_name": "Ben"})
    assert saved.status_code == 201, saved.text
    contact_id = saved.json()["id"]
    assert saved.json()["phone"] == BEN
    assert listed(client)["items"][0]["contact"] == {"id": contact_id, "name": "Ben"}
    # The thread is the contact's now: the same one, by either path.
    assert client.get(f"{API}/{contact_id}").json()["conversation"]["id"] == thread_id
    again = client.post(f"{API}/by-id/{thread_id}/contact", json={})
    assert again.status_code == 409
    assert client.get(f"{API}/by-id/999999").status_code == 404


def test_state_assignee_and_note_change_and_filter(client: TestClient, database: Database) -> None:
    receive(client, ANA, "Hi")
    receive(client, BEN, "Hello")
    ana_id, ben_id = (listed(client)["items"][i]["id"] for i in (1, 0))
    other = make_user(database, "other@example.com", Role.EDITOR)

    closed = client.patch(f"{API}/by-id/{ana_id}", json={"state": "closed"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["needs_reply"]) == ("closed", False)
    assert listed(client)["counts"] == {"open": 1, "closed": 1, "unread": 2, "needs_reply": 1}
    assert phones(listed(client, state="closed")) == [ANA]

    assigned = client.patch(
        f"{API}/by-id/{ben_id}", json={"assignee_id": other.id, "note": "  Wants a refund "}
    ).json()
    assert assigned["assignee"] == {"id": other.id, "email": "other@example.com"}
    assert assigned["note"] == "Wants a refund"
    assert phones(listed(client, assignee_id=other.id)) == [BEN]
    assert phones(listed(client, unassigned=True)) == [ANA]

    unassigned = client.patch(f"{API}/by-id/{ben_id}", json={"assignee_id": None, "note": ""})
    assert (unassigned.json()["assignee"], unassigned.json()["note"]) == (None, None)
    assert client.patch(f"{API}/by-id/{ben_id}", json={"assignee_id": 0}).status_code == 200

    assert fields_at_fault(client.patch(f"{API}/by-id/{ben_id}", json={"assignee_id": 999})) == [
        "assignee_id"
    ]
    too_long = client.patch(f"{API}/by-id/{ben_id}", json={"note": "n" * 4001})
    assert fields_at_fault(too_long) == ["note"]
    assert fields_at_fault(client.patch(f"{API}/by-id/{ben_id}", json={"state": "snoozed"})) == [
        "state"
    ]
    assert client.patch(f"{API}/by-id/999999", json={"state": "open"}).status_code == 404


def test_a_viewer_reads_but_cannot_answer_or_change(client: TestClient, database: Database) -> None:
    ana = save_contact(client, ANA)
    receive(client, ANA, "Hi")
    viewer = bearer(make_api_key(database, Role.VIEWER))
    assert client.get(API, headers=viewer).status_code == 200
    assert client.get(f"{API}/{ana}", headers=viewer).status_code == 200
    assert client.get(QUICK, headers=viewer).status_code == 200
    for method, path, body in (
        ("POST", f"{API}/{ana}/messages", {"body": "Hello"}),
        ("PATCH", f"{API}/{ana}", {"state": "closed"}),
        ("POST", QUICK, {"name": "Hours", "body": "9 to 6"}),
    ):
        answer = client.request(method, path, json=body, headers=viewer)
        assert answer.status_code == 403, (method, path, answer.text)
    assert listed(client)["items"][0]["state"] == "open"


def test_quick_replies_are_kept_changed_and_deleted_with_field_errors(client: TestClient) -> None:
    hours = client.post(QUICK, json={"name": "Hours", "body": "We are open 9 to 6."})
    assert hours.status_code == 201, hours.text
    created = client.post(QUICK, json={"name": "Address", "body": "12 Main St."}).json()
    assert [q["name"] for q in client.get(QUICK).json()] == ["Address", "Hours"]

    assert fields_at_fault(client.post(QUICK, json={"name": "Hours", "body": "Other"})) == ["name"]
    assert fields_at_fault(client.post(QUICK, json={"name": " ", "body": " "})) == ["name", "body"]
    assert fields_at_fault(client.post(QUICK, json={"name": "n" * 81, "body": "b"})) == ["name"]

    changed = client.patch(f"{QUICK}/{created['id']}", json={"body": "14 Main St."})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["body"]) == ("Address", "14 Main St.")
    renamed = client.patch(f"{QUICK}/{created['id']}", json={"name": "Hours"})
    assert fields_at_fault(renamed) == ["name"]

    deleted = client.delete(f"{QUICK}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["name"] == "Address"
    assert client.delete(f"{QUICK}/{created['id']}").status_code == 404
    assert client.patch(f"{QUICK}/{created['id']}", json={"body": "x"}).status_code == 404
    assert [q["name"] for q in client.get(QUICK).json()] == ["Hours"]
