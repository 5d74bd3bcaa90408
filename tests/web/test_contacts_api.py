import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize, numbers
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import load_settings
from textcast.web.app import create_app


@pytest.fixture
def client(database_url: str, tmp_path: object) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, default_region="FR", secret_key="api-test-key"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def _contact(client: TestClient, phone: str, **fields: object) -> dict[str, object]:
    answer = client.post("/api/v1/contacts", json={"phone": phone, **fields})
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created


def test_create_read_update_and_search(client: TestClient) -> None:
    created = _contact(client, "06 12 34 56 78", first_name="Ana", attributes={"plan": "gold"})
    assert (created["phone"], created["country"], created["time_zone"]) == (
        "+33612345678",
        "FR",
        "Europe/Paris",
    )
    assert client.post("/api/v1/contacts", json={"phone": "+33612345678"}).status_code == 409
    patched = client.patch(
        f"/api/v1/contacts/{created['id']}",
        json={"last_name": "Diaz", "attributes": {"plan": None}},
    )
    assert patched.json()["last_name"] == "Diaz" and patched.json()["attributes"] == {}
    _contact(client, numbers(1)[0], first_name="Bob")
    found = client.get("/api/v1/contacts", params={"search": "ana"}).json()["items"]
    assert [c["first_name"] for c in found] == ["Ana"]
    assert client.get("/api/v1/contacts/999").status_code == 404


def test_search_finds_percent_and_underscore_as_themselves(client: TestClient) -> None:
    _contact(client, numbers(1)[0], first_name="Ana", last_name="O'Brien")
    _contact(client, numbers(2)[1], first_name="100%", last_name="a_b")
    for term, expected in (
        ("%", ["100%"]),
        ("_", ["100%"]),
        ("0%", ["100%"]),
        ("a", ["Ana", "100%"]),
    ):
        found = client.get("/api/v1/contacts", params={"search": term}).json()["items"]
        assert sorted(c["first_name"] for c in found) == sorted(expected), term


def test_attributes_are_capped_in_count_name_and_size(client: TestClient) -> None:
    phone = numbers(1)[0]
    cases = [
        ({f"a{n}": n for n in range(51)}, "attributes", "at most 50 attributes per contact"),
        ({"k" * 65: "x"}, "attributes." + "k" * 64 + "…", "names have at most 64 characters"),
        (
            {"notes": "x" * 1_001},
            "attributes.notes",
            "1,001 characters where at most 1,000 are allowed",
        ),
    ]
    for attributes, field, message in cases:
        answer = client.post("/api/v1/contacts", json={"phone": phone, "attributes": attributes})
        assert answer.status_code == 400, field
        assert [(p["field"], p["message"]) for p in answer.json()["problems"]] == [(field, message)]
    largest = {f"a{n}": "x" * 1_000 for n in range(50)} | {"k" * 64: "x"}
    largest.pop("a0")
    created = _contact(client, phone, attributes=largest)
    assert created["attributes"] == largest


def test_a_patch_cannot_grow_attributes_past_the_cap(client: TestClient) -> None:
    contact = _contact(client, numbers(1)[0], attributes={f"a{n}": n for n in range(50)})
    answer = client.patch(f"/api/v1/contacts/{contact['id']}", json={"attributes": {"b": 1}})
    assert answer.status_code == 400
    assert answer.json()["problems"][0]["field"] == "attributes"
    swapped = {"a0": None, "b": 1}  # a null removes one, so there is room again
    answer = client.patch(f"/api/v1/contacts/{contact['id']}", json={"attributes": swapped})
    assert answer.status_code == 200 and len(answer.json()["attributes"]) == 50


def test_bad_contact_fields_are_400_naming_them(client: TestClient) -> None:
    answer = client.post("/api/v1/contacts", json={"phone": "12", "time_zone": "Nowhere/Land"})
    assert answer.status_code == 400
    assert [p["field"] for p in answer.json()["problems"]] == ["phone", "time_zone"]


def test_opt_out_then_consent_export_as_json_and_csv(client: TestClient) -> None:
    contact = _contact(client, "0612345678", consent_evidence="web form, 2026-11-01")
    out = client.post(
        f"/api/v1/contacts/{contact['id']}/opt-out", json={"evidence": "asked by phone"}
    )
    assert out.json()["status"] == "unsubscribed"
    events = client.get(f"/api/v1/contacts/{contact['id']}/consent").json()["ledger"]
    assert [(e["kind"], e["evidence"]) for e in events] == [
        ("opt_in", "web form, 2026-11-01"),
        ("opt_out", "asked by phone"),
    ]
    exported = client.get(f"/api/v1/contacts/{contact['id']}/consent", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["phone"], r["kind"]) for r in rows] == [  # quoted: see test below
        ("'+33612345678", "opt_in"),
        ("'+33612345678", "opt_out"),
    ]


def test_consent_csv_keeps_evidence_from_running_as_spreadsheet_formulas(
    client: TestClient,
) -> None:
    hostile = '=HYPERLINK("https://evil.example","Click")'
    contact = _contact(client, "0612345678", consent_evidence=hostile)
    client.post(f"/api/v1/contacts/{contact['id']}/opt-out", json={"evidence": "@SUM(1+1)"})
    client.post(f"/api/v1/contacts/{contact['id']}/opt-in", json={"evidence": "\t-2+3"})
    exported = client.get(f"/api/v1/contacts/{contact['id']}/consent", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["evidence"] for r in rows] == ["'" + hostile, "'@SUM(1+1)", "'\t-2+3"]
    assert {r["phone"] for r in rows} == {"'+33612345678"}


def test_lists_segments_and_a_campaign_aimed_at_them(client: TestClient) -> None:
    gold = _contact(client, numbers(1)[0], attributes={"plan": "gold"})
    free = _contact(client, numbers(2)[1], attributes={"plan": "free"})
    group = client.post("/api/v1/lists", json={"name": "Customers"}).json()
    added = client.post(
        f"/api/v1/lists/{group['id']}/members", json={"contact_ids": [gold["id"], free["id"]]}
    )
    assert added.json() == {"added": 2}
    bad = client.post(f"/api/v1/lists/{group['id']}/members", json={"contact_ids": [12345]})
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "contact_ids[0]"
    assert client.get("/api/v1/lists").json()[0]["members"] == 2
    segment = client.post(
        "/api/v1/segments",
        json={
            "name": "Gold",
            "rules": {"conditions": [{"field": "attributes.plan", "op": "eq", "value": "gold"}]},
        },
    ).json()
    assert client.get(f"/api/v1/segments/{segment['id']}/size").json() == {
        "contacts": 1,
        "subscribed": 1,
    }
    by_list = client.post(
        "/api/v1/campaigns", json={"name": "l", "body": "hi", "lists": [group["id"]]}
    ).json()
    by_segment = client.post(
        "/api/v1/campaigns", json={"name": "s", "body": "hi", "segments": [segment["id"]]}
    ).json()
    client.post(f"/api/v1/contacts/{free['id']}/opt-out", json={})
    for campaign, expected in ((by_list, 1), (by_segment, 1)):
        sent = client.post(f"/api/v1/campaigns/{campaign['id']}/send").json()
        assert sent["recipient_count"] == expected


def test_a_campaign_needs_some_audience(client: TestClient) -> None:
    answer = client.post("/api/v1/campaigns", json={"name": "x", "body": "hi"})
    assert answer.status_code == 400
    assert answer.json()["problems"][0]["field"] == "recipients"


def test_erasure_needs_to_be_asked_for_and_keeps_an_opt_out(client: TestClient) -> None:
    contact = _contact(client, "0612345678")
    refused = client.delete(f"/api/v1/contacts/{contact['id']}")
    assert refused.status_code == 400 and refused.json()["problems"][0]["field"] == "erase"
    client.post(f"/api/v1/contacts/{contact['id']}/opt-out", json={})
    erased = client.delete(f"/api/v1/contacts/{contact['id']}", params={"erase": "true"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["kept_suppression"] is True
    assert client.get(f"/api/v1/contacts/{contact['id']}").status_code == 404
    # The number comes back: its STOP outlived the erasure, so it is not re-subscribed.
    again = _contact(client, "+33612345678")
    assert again["status"] == "unsubscribed"
    assert client.get(f"/api/v1/contacts/{again['id']}/consent").json()["ledger"] == []


def test_the_count_agrees_with_the_list_and_its_filters(client: TestClient) -> None:
    ana = _contact(client, "0612345678", first_name="Ana")
    _contact(client, "0612345679", first_name="Bo")
    _contact(client, "+12015550100", first_name="Anabel")
    client.post(f"/api/v1/contacts/{ana['id']}/opt-out", json={})
    for query in ({}, {"search": "ana"}, {"country": "FR"}, {"status": "unsubscribed"}):
        listed = client.get("/api/v1/contacts", params=query).json()
        assert listed["total"] is None  # counted only when asked
        counted = client.get("/api/v1/contacts", params={**query, "include_total": "true"})
        assert counted.json()["total"] == len(listed["items"]), query
    one_page = {"search": "ana", "limit": "1", "include_total": "true"}
    assert client.get("/api/v1/contacts", params=one_page).json()["total"] == 2


def test_the_consent_ledger_says_who_changed_it(client: TestClient) -> None:
    contact = _contact(client, "0612345678", consent_evidence="web form")
    client.post(f"/api/v1/contacts/{contact['id']}/opt-out", json={"evidence": "asked by phone"})
    events = client.get(f"/api/v1/contacts/{contact['id']}/consent").json()["ledger"]
    audit = client.get("/api/v1/audit", params={"action": "contact.opt_out"}).json()["items"]
    assert [(a["target"], a["detail"]) for a in audit] == [
        (f"contact:{contact['id']}", {"consent_event": events[1]["id"]})
    ]
    who = audit[0]["actor"]
    assert "@example.com (key tc_" in who
    assert [(e["kind"], e["evidence"], e["by"]) for e in events] == [
        ("opt_in", "web form", None),  # created: the evidence is the person's
        ("opt_out", "asked by phone", who),
    ]
    exported = client.get(f"/api/v1/contacts/{contact['id']}/consent", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["by"] for r in rows] == ["", who]


def _inbound(client: TestClient, sender: str, body: str, n: int) -> int:
    raw = inbound_callback(n, sender, body)
    settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    stored = client.post(
        "/api/webhooks/inbound", content=raw, headers=signed_by_sinch(settings, raw)
    )
    assert stored.status_code == 200, stored.text
    items = client.get("/api/v1/inbox").json()["items"]
    return int(items[0]["id"])


def test_an_unknown_sender_is_saved_as_a_contact_with_its_texts(client: TestClient) -> None:
    """The client's settings have no Sinch credentials: callbacks are signed as the built-in
    simulator signs them."""
    first = _inbound(client, "+33612345678", "Hello, do you deliver?", 1)
    second = _inbound(client, "+33612345678", "On Sundays?", 2)
    empty = client.post(f"/api/v1/inbox/{second}/contact", json={"consent_evidence": ""})
    assert empty.status_code == 400
    assert [p["field"] for p in empty.json()["problems"]] == ["consent_evidence"]
    saved = client.post(f"/api/v1/inbox/{second}/contact", json={"first_name": "Ana"})
    assert saved.status_code == 201, saved.text
    contact = saved.json()
    assert (contact["phone"], contact["first_name"], contact["status"]) == (
        "+33612345678",
        "Ana",
        "subscribed",
    )
    events = client.get(f"/api/v1/contacts/{contact['id']}/consent").json()["ledger"]
    assert [(e["kind"], e["evidence"]) for e in events] == [("opt_in", "Texted us first")]
    texts = client.get("/api/v1/inbox", params={"contact_id": contact["id"]}).json()["items"]
    assert [t["id"] for t in texts] == [second, first]
    again = client.post(f"/api/v1/inbox/{first}/contact", json={})
    assert again.status_code == 409
    assert client.post("/api/v1/inbox/999999/contact", json={}).status_code == 404
    assert client.get("/api/v1/contacts", params={"include_total": "1"}).json()["total"] == 1


def test_a_stop_from_an_unknown_number_is_a_contact_already(client: TestClient) -> None:
    """STOP makes the number an opted-out contact by itself: there is nobody left to save."""
    stop = _inbound(client, "+33612345678", "STOP", 1)
    refused = client.post(f"/api/v1/inbox/{stop}/contact", json={})
    assert refused.status_code == 409
    assert "already a contact" in refused.json()["message"]
