"""`/api/v1/segments`: strict rules with answers naming the rule, update and delete, and a
segment broken in storage that is reported, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import ContactList, Role, Segment
from textcast.web.app import create_app

FRANCE = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "FR"}]}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, default_region="FR", secret_key="segments-test-key"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def _nested(depth: int) -> Any:
    value: Any = "FR"
    for _ in range(depth):
        value = [value]
    return value


def _condition(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"conditions": [{"field": field, "op": op, "value": value}]}


def _create(client: TestClient, name: str, rules: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/segments", json={"name": name, "rules": rules})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _store(database_url: str, name: str, rules: Any) -> int:
    """A segment written straight into the database, past every check (as an old version
    of textcast could have stored it)."""
    database = Database(database_url)
    try:
        with database.write() as session:
            segment = Segment(name=name, rules=rules)
            session.add(segment)
            session.flush()
            return segment.id
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("rules", "field", "words"),
    [
        (_condition("country", "in", [_nested(900)]), "rules.conditions[0].value[0]", "country"),
        (_condition('attributes.a"b', "eq", "x"), "rules.conditions[0].field", "letters, digits"),
        (_condition("list", "in", [10**30]), "rules.conditions[0].value[0]", "list id"),
        (_condition("list", "in", [True]), "rules.conditions[0].value[0]", "list id"),
        ({**FRANCE, "extra": _nested(900)}, "rules", "an unknown setting 'extra'"),
        (
            {"conditions": [{"field": "country", "op": "eq", "value": "FR", "or": []}]},
            "rules.conditions[0]",
            "a condition may only have `field`, `op`, `value`",
        ),
        (_condition("attributes.plan", "eq", {"a": {"b": 1}}), "rules.conditions[0].value", "text"),
        (_condition("attributes.plan", "eq", "x" * 201), "rules.conditions[0].value", "at most"),
        (_condition("attributes.plan", "eq", 10**30), "rules.conditions[0].value", "too large"),
        (_condition("attributes.plan", "in", ["a"] * 501), "rules.conditions[0].value", "500"),
        (_condition("attributes.plan", "exists", "x"), "rules.conditions[0].value", "no value"),
        (_condition("status", "eq", ["subscribed"]), "rules.conditions[0].value", "subscribed,"),
        (
            {"conditions": [{"field": "status", "op": "eq", "value": "subscribed"}] * 51},
            "rules.conditions",
            "at most 50",
        ),
    ],
)
def test_bad_rules_are_400_naming_the_rule_and_what_is_wrong(
    client: TestClient, rules: Any, field: str, words: str
) -> None:
    answer = client.post("/api/v1/segments", json={"name": "Bad", "rules": rules})
    assert answer.status_code == 400, answer.text
    problems = answer.json()["problems"]
    assert [p["field"] for p in problems] == [field]
    assert words in problems[0]["message"]
    assert client.get("/api/v1/segments").json() == []


def test_good_rules_still_pass(client: TestClient) -> None:
    vip = client.post("/api/v1/lists", json={"name": "VIP"}).json()
    rules = {
        "match": "any",
        "conditions": [
            {"field": "country", "op": "in", "value": ["fr", "BE"]},
            {"field": "status", "op": "ne", "value": "invalid"},
            {"field": "list", "op": "not_in", "value": [vip["id"]]},
            {"field": "attributes.plan_2", "op": "eq", "value": 3},
            {"field": "attributes.plan", "op": "contains", "value": "gold"},
            {"field": "attributes.plan", "op": "exists"},
            {"field": "attributes.plan", "op": "not_exists", "value": None},
        ],
    }
    created = _create(client, "Many", rules)
    assert created["rules"] == rules and created["valid"] is True and created["problems"] == []


def test_a_segment_broken_in_storage_is_listed_as_invalid_and_refused_where_used(
    client: TestClient, database_url: str
) -> None:
    gone = client.post("/api/v1/lists", json={"name": "Gone"}).json()
    good = _create(client, "Good", FRANCE)
    quoted = _store(database_url, "Quoted", _condition('attributes.a"b', "eq", "x"))
    huge = _store(database_url, "Huge", _condition("list", "in", [10**30]))
    deep = _store(database_url, "Deep", _condition("country", "in", [_nested(900)]))
    listed_rules = _store(database_url, "A list", ["country", "eq", "FR"])
    deleted = _create(client, "Deleted list", _condition("list", "in", [gone["id"]]))
    database = Database(database_url)
    with database.write() as session:
        session.delete(session.get(ContactList, gone["id"]))
    database.dispose()
    client.post("/api/v1/contacts", json={"phone": "+33612345678", "attributes": {"a": "x"}})

    listed = client.get("/api/v1/segments")
    assert listed.status_code == 200
    by_name = {s["name"]: s for s in listed.json()}
    assert by_name["Good"]["valid"] is True
    for name in ("Quoted", "Huge", "Deep", "A list", "Deleted list"):
        assert by_name[name]["valid"] is False, name
        assert by_name[name]["problems"], name
    assert by_name["Quoted"]["problems"][0]["field"] == "rules.conditions[0].field"
    assert "no such list" in by_name["Deleted list"]["problems"][0]["message"]
    assert by_name["Deep"]["rules"] is None  # too deep to echo
    assert by_name["A list"]["rules"] is None
    assert by_name["A list"]["problems"][0] == {
        "field": "rules",
        "message": "must be an object with `match` and `conditions`",
        "value": None,
    }
    assert by_name["Quoted"]["rules"] == _condition('attributes.a"b', "eq", "x")

    assert client.get(f"/api/v1/segments/{good['id']}/size").json()["contacts"] == 1
    for broken in (quoted, huge, deep, listed_rules, deleted["id"]):
        size = client.get(f"/api/v1/segments/{broken}/size")
        assert size.status_code == 409, size.text
        assert "cannot be used until its rules are fixed" in size.json()["message"]
        draft = client.post(
            "/api/v1/campaigns", json={"name": "d", "body": "Hi", "segments": [broken]}
        ).json()
        plan = client.post(f"/api/v1/campaigns/{draft['id']}/plan")
        assert plan.status_code == 409, plan.text
        sent = client.post(f"/api/v1/campaigns/{draft['id']}/send")
        assert sent.status_code == 409, sent.text
        campaign = client.get(f"/api/v1/campaigns/{draft['id']}").json()
        assert campaign["status"] == "draft"


def test_update_renames_and_replaces_rules_checked_as_on_creation(client: TestClient) -> None:
    segment = _create(client, "France", FRANCE)
    _create(client, "Taken", FRANCE)
    renamed = client.patch(f"/api/v1/segments/{segment['id']}", json={"name": " French "})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["rules"]) == ("French", FRANCE)

    belgium = _condition("country", "eq", "BE")
    changed = client.patch(f"/api/v1/segments/{segment['id']}", json={"rules": belgium})
    assert (changed.json()["name"], changed.json()["rules"]) == ("French", belgium)

    bad = client.patch(
        f"/api/v1/segments/{segment['id']}",
        json={"name": "", "rules": _condition("attributes.a b", "exists")},
    )
    assert bad.status_code == 400
    assert [p["field"] for p in bad.json()["problems"]] == ["name", "rules.conditions[0].field"]
    taken = client.patch(f"/api/v1/segments/{segment['id']}", json={"name": "Taken"})
    assert taken.status_code == 409 and "Taken" in taken.json()["message"]
    extra = client.patch(f"/api/v1/segments/{segment['id']}", json={"colour": "red"})
    assert extra.status_code == 400
    assert client.patch("/api/v1/segments/999", json={"name": "x"}).status_code == 404
    assert client.patch(f"/api/v1/segments/{10**30}", json={"name": "x"}).status_code == 400
    after = {s["name"]: s["rules"] for s in client.get("/api/v1/segments").json()}
    assert after == {"French": belgium, "Taken": FRANCE}


def test_a_broken_segment_is_repaired_by_an_update(client: TestClient, database_url: str) -> None:
    broken = _store(database_url, "Old", _condition('attributes.a"b', "eq", "x"))
    fixed = client.patch(f"/api/v1/segments/{broken}", json={"rules": FRANCE})
    assert fixed.status_code == 200 and fixed.json()["valid"] is True
    assert client.get(f"/api/v1/segments/{broken}/size").status_code == 200


def test_delete_is_refused_while_a_draft_uses_it_and_names_the_draft(client: TestClient) -> None:
    segment = _create(client, "France", FRANCE)
    client.post("/api/v1/contacts", json={"phone": "+33612345678"})
    draft = client.post(
        "/api/v1/campaigns", json={"name": "Spring sale", "body": "Hi", "segments": [segment["id"]]}
    ).json()
    refused = client.delete(f"/api/v1/segments/{segment['id']}")
    assert refused.status_code == 409
    assert "'Spring sale'" in refused.json()["message"] and "draft" in refused.json()["message"]

    # Once launched, the campaign has its recipients: the segment is no longer needed.
    assert client.post(f"/api/v1/campaigns/{draft['id']}/send").status_code == 202
    assert client.delete(f"/api/v1/segments/{segment['id']}").status_code == 204
    assert client.get("/api/v1/segments").json() == []
    assert client.get(f"/api/v1/segments/{segment['id']}/size").status_code == 404
    assert client.delete(f"/api/v1/segments/{segment['id']}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{draft['id']}").json()["recipient_count"] == 1


def test_a_draft_copied_after_its_segment_was_deleted_is_refused_clearly(
    client: TestClient,
) -> None:
    segment = _create(client, "France", FRANCE)
    first = client.post(
        "/api/v1/campaigns",
        json={"name": "a", "body": "Hi", "segments": [segment["id"]], "recipients": numbers(1)},
    ).json()
    client.post(f"/api/v1/campaigns/{first['id']}/send")
    client.delete(f"/api/v1/segments/{segment['id']}")
    copy = client.post(f"/api/v1/campaigns/{first['id']}/duplicate").json()
    refused = client.post(f"/api/v1/campaigns/{copy['id']}/send")
    assert refused.status_code == 409
    assert f"segment {segment['id']} was deleted" in refused.json()["message"]


def test_updates_and_deletes_are_audited(client: TestClient) -> None:
    segment = _create(client, "France", FRANCE)
    client.patch(f"/api/v1/segments/{segment['id']}", json={"name": "French"})
    client.patch(f"/api/v1/segments/{segment['id']}", json={"rules": FRANCE})
    client.delete(f"/api/v1/segments/{segment['id']}")
    entries = client.get("/api/v1/audit").json()["items"]
    assert [(e["action"], e["target"], e["detail"]) for e in reversed(entries)] == [
        ("segment.update", f"segment:{segment['id']}", {"changed": ["name"]}),
        ("segment.update", f"segment:{segment['id']}", {"changed": ["rules"]}),
        ("segment.delete", f"segment:{segment['id']}", {"name": "French"}),
    ]


NESTED = {
    "match": "all",
    "conditions": [
        {"field": "status", "op": "eq", "value": "subscribed"},
        {
            "match": "any",
            "conditions": [
                {"field": "country", "op": "in", "value": ["FR", "BE"]},
                {"field": "first_name", "op": "exists"},
            ],
        },
    ],
}


def test_a_preview_counts_rules_not_saved_and_stores_nothing(
    client: TestClient, database_url: str
) -> None:
    phones = ["+33612345678", "+32470123456", "+12015550100", "+12015550101"]
    ids = [
        client.post("/api/v1/contacts", json={"phone": phone, **fields}).json()["id"]
        for phone, fields in zip(
            phones, [{}, {}, {"first_name": "Ann"}, {"country": "US"}], strict=True
        )
    ]
    client.post(f"/api/v1/contacts/{ids[1]}/opt-out", json={})

    answer = client.post("/api/v1/segment-previews", json={"rules": NESTED})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["contacts"], found["subscribed"]) == (2, 2)
    assert [c["id"] for c in found["sample"]] == [ids[0], ids[2]]
    assert found["description"] == (
        "Subscribed contacts in France or Belgium or whose first name is set"
    )
    assert client.get("/api/v1/segments").json() == []

    viewer = TestClient(client.app)
    authorize(viewer, database_url, Role.VIEWER)
    assert viewer.post("/api/v1/segment-previews", json={"rules": NESTED}).status_code == 200


def test_a_bad_preview_is_400_naming_the_condition_in_words(client: TestClient) -> None:
    rules = {
        "conditions": [
            {"field": "status", "op": "eq", "value": "subscribed"},
            {"match": "any", "conditions": [{"field": "country", "op": "eq", "value": "France"}]},
        ]
    }
    answer = client.post("/api/v1/segment-previews", json={"rules": rules})
    assert answer.status_code == 400
    [problem] = answer.json()["problems"]
    assert problem["field"] == "rules.conditions[1].conditions[0].value"
    assert problem["message"].startswith("condition 1 of the group in condition 2: must be a two")
    assert client.post("/api/v1/segment-previews", json={}).status_code == 400


def test_a_segment_reads_in_words_and_lists_its_contacts_a_page_at_a_time(
    client: TestClient, database_url: str
) -> None:
    made = [
        client.post("/api/v1/contacts", json={"phone": phone}).json()["id"]
        for phone in ("+33612345601", "+33612345602", "+33612345603", "+12015550100")
    ]
    segment = _create(client, "France", FRANCE)
    assert segment["description"] == "Contacts in France"
    got = client.get(f"/api/v1/segments/{segment['id']}")
    assert got.status_code == 200 and got.json()["description"] == "Contacts in France"
    assert client.get("/api/v1/segments").json()[0]["description"] == "Contacts in France"

    first = client.get(f"/api/v1/segments/{segment['id']}/contacts", params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == made[:2]
    rest = client.get(
        f"/api/v1/segments/{segment['id']}/contacts",
        params={"limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert ([c["id"] for c in rest["items"]], rest["next_cursor"]) == ([made[2]], None)

    broken = _store(database_url, "Old", _condition('attributes.a"b', "eq", "x"))
    shown = client.get(f"/api/v1/segments/{broken}").json()
    assert (shown["valid"], shown["description"]) == (False, None)
    assert client.get(f"/api/v1/segments/{broken}/contacts").status_code == 409
    assert client.get("/api/v1/segments/999/contacts").status_code == 404
    assert client.get("/api/v1/segments/999").status_code == 404
