"""A/B tests over the API: variants and settings at creation, the test shown with its campaign,
set and removed on a draft, launched, picked and decided."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.factories import numbers
from tests.web.test_campaign_controls_api import client as client

from textcast.db import Database
from textcast.models import AuditEntry, Message

BODIES = (
    "Spring sale: 20% off at https://shop.example/a",
    "Last day! 20% off everything at https://shop.example/b",
)


def _create(client: TestClient, **extra: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Spring",
            "recipients": numbers(50),
            "variants": [{"body": body} for body in BODIES],
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _fields(answer: Any) -> set[str]:
    assert answer.status_code == 400, answer.text
    return {p["field"] for p in answer.json()["problems"]}


def _messages(database_url: str, campaign_id: int) -> int:
    database = Database(database_url)
    try:
        with database.read() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.campaign_id == campaign_id)
                )
                or 0
            )
    finally:
        database.dispose()


def test_a_campaign_created_with_variants_shows_its_test(client: TestClient) -> None:
    created = _create(client, test={"pool_percent": 40, "metric": "replies", "decide_after": "90m"})
    assert created["body"] == BODIES[0]  # variant A's text is the campaign's
    assert (created["parent_id"], created["variant"]) == (None, None)
    shown = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert [(v["label"], v["body"], v["campaign_id"]) for v in shown["variants"]] == [
        ("A", BODIES[0], None),
        ("B", BODIES[1], None),
    ]
    test = shown["test"]
    assert (test["state"], test["pool_percent"], test["metric"]) == ("draft", 40, "replies")
    assert (test["decide_after"], test["decide_after_minutes"]) == ("1h 30m", 90)
    assert (test["fallback"], test["min_sample"], test["confidence"]) == ("variant_a", 100, 0.95)
    assert [r["label"] for r in test["results"]] == ["A", "B"]
    assert test["summary"].startswith("Not started")
    alone = client.get(f"/api/v1/campaigns/{created['id']}/ab-test").json()
    assert alone["test"]["seed"] == test["seed"] and alone["variants"] == shown["variants"]


def test_variants_alone_take_the_default_settings(client: TestClient) -> None:
    created = _create(client)
    test = client.get(f"/api/v1/campaigns/{created['id']}").json()["test"]
    assert (test["pool_percent"], test["metric"], test["decide_after_minutes"]) == (
        20,
        "clicks",
        240,
    )
    manual = _create(client, test={"decide_after": None})
    assert (
        client.get(f"/api/v1/campaigns/{manual['id']}/ab-test").json()["test"]["decide_after"]
        is None
    )


def test_a_campaign_without_a_test_shows_none(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/campaigns", json={"name": "Plain", "body": "Hi", "recipients": numbers(2)}
    )
    shown = client.get(f"/api/v1/campaigns/{answer.json()['id']}").json()
    assert (shown["variants"], shown["test"]) == ([], None)
    missing = client.get(f"/api/v1/campaigns/{answer.json()['id']}/ab-test")
    assert missing.status_code == 404


def test_bad_test_input_names_each_field(client: TestClient) -> None:
    base = {"name": "x", "recipients": numbers(3)}
    variants = [{"body": b} for b in BODIES]
    no_variants = client.post(
        "/api/v1/campaigns", json={**base, "body": "Hi", "test": {"pool_percent": 10}}
    )
    assert _fields(no_variants) == {"variants"}
    bad = client.post(
        "/api/v1/campaigns",
        json={
            **base,
            "variants": [{"body": BODIES[0]}, {"body": "Hi {{ shoe_size }} https://x.example"}],
            "test": {"pool_percent": 0, "confidence": 1.5, "metric": "event"},
        },
    )
    assert {"variants[1].body", "test.pool_percent", "test.confidence", "test.event"} <= (
        _fields(bad)
    )
    for wrong in ("soon", "4 hours", "-5", True, 1.5):
        answer = client.post(
            "/api/v1/campaigns",
            json={
                **base,
                "variants": variants,
                "test": {"decide_after": wrong},
            },
        )
        assert _fields(answer) == {"test.decide_after"}, wrong
        assert "4h, 90m or 2d" in answer.text
    mixed = client.post(
        "/api/v1/campaigns",
        json={**base, "variants": [{"body": "a", "send_time": "10:00"}, {"body": "b"}]},
    )
    assert _fields(mixed) == {"variants[0]"}
    metric = client.post(
        "/api/v1/campaigns",
        json={**base, "variants": variants, "test": {"metric": "opens"}},
    )
    assert _fields(metric) == {"test.metric"}
    no_body = client.post(
        "/api/v1/campaigns", json={**base, "variants": [{"send_time": "10:00"}], "lists": "x"}
    )
    assert _fields(no_body) == {"body", "lists"}
    two_texts = client.post(
        "/api/v1/campaigns", json={**base, "body": "Other text", "variants": variants}
    )
    assert _fields(two_texts) == {"body"}
    assert client.get("/api/v1/campaigns").json()["items"] == []


def test_a_send_time_test_keeps_the_campaigns_text(client: TestClient) -> None:
    created = _create(
        client,
        body="Hi https://shop.example",
        variants=[{"send_time": "10:00"}, {"send_time": "18:30"}],
    )
    shown = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert shown["body"] == "Hi https://shop.example"
    assert [(v["label"], v["send_time"], v["body"]) for v in shown["variants"]] == [
        ("A", "10:00", None),
        ("B", "18:30", None),
    ]


def test_a_drafts_test_is_set_replaced_and_removed(client: TestClient, database_url: str) -> None:
    answer = client.post(
        "/api/v1/campaigns", json={"name": "Plain", "body": "Hi", "recipients": numbers(50)}
    )
    cid = answer.json()["id"]
    texts = [*BODIES, "Three https://shop.example/c"]
    put = client.put(
        f"/api/v1/campaigns/{cid}/ab-test",
        json={"variants": [{"body": b} for b in texts], "test": {"metric": "delivery"}},
    )
    assert put.status_code == 200, put.text
    assert [v["label"] for v in put.json()["variants"]] == ["A", "B", "C"]
    assert put.json()["test"]["metric"] == "delivery"
    assert client.get(f"/api/v1/campaigns/{cid}").json()["body"] == BODIES[0]
    again = client.put(f"/api/v1/campaigns/{cid}/ab-test", json={"variants": [{"body": BODIES[0]}]})
    assert _fields(again) == {"variants"}
    removed = client.delete(f"/api/v1/campaigns/{cid}/ab-test")
    assert removed.status_code == 204
    shown = client.get(f"/api/v1/campaigns/{cid}").json()
    assert (shown["test"], shown["variants"], shown["body"]) == (None, [], BODIES[0])
    database = Database(database_url)
    with database.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"campaign:{cid}")
        ).all()
    database.dispose()
    assert {"campaign.test_set", "campaign.test_removed"} <= set(actions)


def test_a_launched_test_cannot_change_and_shows_its_cells(
    client: TestClient, database_url: str
) -> None:
    cid = _create(client, test={"decide_after": None})["id"]
    sent = client.post(f"/api/v1/campaigns/{cid}/send")
    assert sent.status_code == 202, sent.text
    changed = client.put(
        f"/api/v1/campaigns/{cid}/ab-test", json={"variants": [{"body": b} for b in BODIES]}
    )
    assert changed.status_code == 409
    assert client.delete(f"/api/v1/campaigns/{cid}/ab-test").status_code == 409
    test = client.get(f"/api/v1/campaigns/{cid}/ab-test").json()
    assert test["test"]["state"] == "testing"
    cells = {v["label"]: v["campaign_id"] for v in test["variants"]}
    assert all(cells.values())
    for label, cell_id in cells.items():
        cell = client.get(f"/api/v1/campaigns/{cell_id}").json()
        assert (cell["parent_id"], cell["variant"]) == (cid, label)
        assert _messages(database_url, cell_id) == 5  # 20% of 50, shared by two
    assert test["test"]["rest_status"] == "draft" and test["test"]["rest_recipients"] == 40
    listed = client.get("/api/v1/campaigns").json()["items"]
    assert [c["id"] for c in listed] == [cid]  # the cells go with their test


def test_a_pick_sends_the_winner_to_the_rest_once(client: TestClient, database_url: str) -> None:
    cid = _create(client, test={"decide_after": None})["id"]
    too_early = client.post(f"/api/v1/campaigns/{cid}/ab-test/pick", json={"variant": "B"})
    assert too_early.status_code == 409
    client.post(f"/api/v1/campaigns/{cid}/send")
    unknown = client.post(f"/api/v1/campaigns/{cid}/ab-test/pick", json={"variant": "C"})
    assert _fields(unknown) == {"variant"}
    picked = client.post(f"/api/v1/campaigns/{cid}/ab-test/pick", json={"variant": "b"})
    assert picked.status_code == 200, picked.text
    test = picked.json()["test"]
    assert (test["state"], test["winner"], test["rest_error"]) == ("decided", "B", None)
    assert "(key " in test["decided_by"]  # who picked: the API key's user
    assert test["reason"] == f"Variant B picked by {test['decided_by']}."
    rest = client.get(f"/api/v1/campaigns/{test['rest_campaign_id']}").json()
    assert (rest["body"], rest["variant"], rest["status"]) == (BODIES[1], "B", "sending")
    assert _messages(database_url, rest["id"]) == 40
    # The test's campaign lists its family's messages, each with its part.
    listed = client.get(f"/api/v1/campaigns/{cid}/messages?limit=1000").json()["items"]
    assert Counter(m["variant"] for m in listed) == {"A": 5, "B": 5, "rest": 40}
    same = client.post(f"/api/v1/campaigns/{cid}/ab-test/pick", json={"variant": "B"})
    assert same.status_code == 200
    other = client.post(f"/api/v1/campaigns/{cid}/ab-test/pick", json={"variant": "A"})
    assert other.status_code == 409 and "already chosen" in other.text
    assert _messages(database_url, rest["id"]) == 40


@pytest.mark.parametrize(
    ("fallback", "state", "winner", "rest_messages"),
    [("variant_a", "decided", "A", 40), ("wait", "waiting", None, 0)],
)
def test_deciding_now_without_enough_data_follows_the_fallback(
    client: TestClient,
    database_url: str,
    fallback: str,
    state: str,
    winner: str | None,
    rest_messages: int,
) -> None:
    cid = _create(client, test={"fallback": fallback})["id"]
    client.post(f"/api/v1/campaigns/{cid}/send")
    decided = client.post(f"/api/v1/campaigns/{cid}/ab-test/decide")
    assert decided.status_code == 200, decided.text
    test = decided.json()["test"]
    assert (test["state"], test["winner"]) == (state, winner)
    assert "Not enough data" in test["reason"]
    assert _messages(database_url, test["rest_campaign_id"]) == rest_messages
    if winner:
        assert test["decided_by"] == "fallback"


def test_the_openapi_document_lists_the_test_routes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/v1/campaigns/{campaign_id}/ab-test"]) == {"get", "put", "delete"}
    for action in ("pick", "decide"):
        operation = paths[f"/api/v1/campaigns/{{campaign_id}}/ab-test/{action}"]["post"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/AbTestView"}
        assert "409" in operation["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["AbTestIn"]["examples"][0]["test"]["decide_after"] == "4h"
    assert {"variants", "test"} <= set(schemas["CampaignIn"]["properties"])
    assert {"variants", "test"} <= set(schemas["CampaignProgressOut"]["properties"])
