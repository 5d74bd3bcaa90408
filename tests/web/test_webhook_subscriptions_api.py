"""`/api/v1/webhooks`: subscriptions made, read, changed and removed by admins over HTTP, on
both engines; the secret shown once; URLs and event types checked with answers naming the
field; test events, replays and the delivery log with counts that agree with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.factories import authorize, make_api_key
from tests.web.apps import app_client

from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks.subscriptions import MAX_SUBSCRIPTIONS
from textcast.models import (
    AuditEntry,
    DeliveryStatus,
    EventType,
    Role,
    SubscriptionStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

PUBLIC_URL = "https://93.184.215.14/hooks/textcast?token=abc"
"""A public address written as one: no name to resolve on a machine without DNS."""


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with app_client(database_url) as client:
        authorize(client, database_url)
        yield client


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/webhooks", json={"url": PUBLIC_URL, "event_types": ["*"], **body})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def _problems(answer: Any) -> dict[str, str]:
    assert answer.status_code == 400, answer.text
    return {p["field"]: p["message"] for p in answer.json()["problems"]}


def _record(database: Database, type_: EventType, count: int = 1) -> None:
    with database.write() as session:
        stream.record_many(session, type_, [{"n": n} for n in range(count)])


def test_the_secret_is_shown_at_creation_and_never_read_again(
    client: TestClient, database: Database
) -> None:
    made = _create(
        client,
        event_types=["message.failed", "message.delivered", "message.failed"],
        description=" CRM sync ",
    )
    assert made["secret"].startswith("whsec_")
    assert made["status"] == "active"
    assert made["description"] == "CRM sync"
    assert made["event_types"] == ["message.delivered", "message.failed"]  # catalogue order
    one = client.get(f"/api/v1/webhooks/{made['id']}").json()
    listed = client.get("/api/v1/webhooks").json()
    assert "secret" not in one and all("secret" not in s for s in listed)
    assert made["secret"] not in json.dumps([one, listed])
    with database.read() as session:
        stored = session.get(WebhookSubscription, made["id"])
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.create"))
        detail = entry.one().detail
    assert stored is not None and stored.secret == made["secret"]
    assert made["secret"] not in json.dumps(detail)
    assert detail["url"] == "https://93.184.215.14/hooks/textcast"  # the token left out


def test_a_url_that_is_not_http_is_refused_naming_the_field(client: TestClient) -> None:
    for url in ("ftp://93.184.215.14/in", "hooks.example.com/in", ""):
        answer = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
        assert "url" in _problems(answer), url
    answer = client.post(
        "/api/v1/webhooks", json={"url": "https://user:pw@93.184.215.14/", "event_types": ["*"]}
    )
    assert "user name or password" in _problems(answer)["url"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/in", "http://10.1.2.3/in", "http://169.254.169.254/latest"]
)
def test_private_addresses_are_refused_unless_allowed(database_url: str, url: str) -> None:
    with app_client(database_url) as client:
        authorize(client, database_url)
        answer = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
        message = _problems(answer)["url"]
        assert "WEBHOOK_ALLOW_PRIVATE" in message
    with app_client(database_url, webhook_allow_private=True) as client:
        authorize(client, database_url)
        answer = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
        assert answer.status_code == 201, answer.text


def test_unknown_event_types_are_named_one_by_one(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/webhooks",
        json={
            "url": PUBLIC_URL,
            "event_types": ["message.sent", "message.bounced", "webhook.test"],
        },
    )
    problems = _problems(answer)
    assert "not an event type" in problems["event_types[1]"]
    assert "send test event" in problems["event_types[2]"]
    assert "event_types[0]" not in problems
    nothing = client.post("/api/v1/webhooks", json={"url": PUBLIC_URL, "event_types": []})
    assert "at least one" in _problems(nothing)["event_types"]
    both = client.post("/api/v1/webhooks", json={"url": "ftp://x", "event_types": ["x"]})
    assert {"url", "event_types[0]"} <= set(_problems(both))
    assert client.get("/api/v1/webhooks").json() == []


def test_subscriptions_beyond_the_maximum_are_refused(client: TestClient) -> None:
    for _ in range(MAX_SUBSCRIPTIONS):
        _create(client)
    answer = client.post("/api/v1/webhooks", json={"url": PUBLIC_URL, "event_types": ["*"]})
    assert answer.status_code == 409
    assert "delete one" in answer.json()["message"]


def test_a_subscription_is_changed_with_the_same_checks(client: TestClient) -> None:
    made = _create(client)
    path = f"/api/v1/webhooks/{made['id']}"
    refused = client.patch(path, json={"url": "http://192.168.1.10/in"})
    assert "url" in _problems(refused)
    changed = client.patch(
        path, json={"event_types": ["contact.unsubscribed"], "description": "Opt-outs to CRM"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["contact.unsubscribed"]
    assert changed.json()["url"] == PUBLIC_URL
    assert client.get(path).json()["description"] == "Opt-outs to CRM"


def test_a_test_event_makes_one_pending_delivery_for_that_subscription_only(
    client: TestClient, database: Database
) -> None:
    tested = _create(client)
    other = _create(client)
    answer = client.post(f"/api/v1/webhooks/{tested['id']}/test")
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_type"] == "webhook.test"
    assert answer.json()["status"] == "pending"
    with database.read() as session:
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert [(d.subscription_id, d.status) for d in deliveries] == [
        (tested["id"], DeliveryStatus.PENDING)
    ]
    log = client.get(f"/api/v1/webhooks/{tested['id']}/deliveries").json()
    assert [d["id"] for d in log["items"]] == [answer.json()["id"]]
    assert log["counts"] == {"pending": 1, "delivered": 0, "failed": 0}
    assert client.get(f"/api/v1/webhooks/{other['id']}/deliveries").json()["items"] == []
    detail = client.get(f"/api/v1/webhooks/{tested['id']}/deliveries/{answer.json()['id']}")
    assert detail.json()["payload"]["type"] == "webhook.test"
    assert detail.json()["payload"]["data"]["subscription_id"] == tested["id"]


def test_replaying_a_delivery_sends_the_same_event_again(
    client: TestClient, database: Database
) -> None:
    made = _create(client)
    _record(database, EventType.CONTACT_UNSUBSCRIBED)
    with database.write() as session:
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.FAILED))
    base = f"/api/v1/webhooks/{made['id']}"
    [first] = client.get(f"{base}/deliveries").json()["items"]
    replayed = client.post(f"{base}/deliveries/{first['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    again = replayed.json()
    assert again["id"] != first["id"] and again["status"] == "pending"
    assert again["webhook_id"] == first["webhook_id"]
    twice = client.post(f"{base}/deliveries/{first['id']}/replay")
    assert twice.status_code == 409
    assert "already waiting" in twice.json()["message"]
    other = _create(client)
    assert (
        client.post(f"/api/v1/webhooks/{other['id']}/deliveries/{first['id']}/replay").status_code
        == 404
    )


def test_replaying_since_a_moment_queues_the_wanted_events_made_since(
    client: TestClient, database: Database
) -> None:
    made = _create(client, event_types=["message.delivered"])
    base = f"/api/v1/webhooks/{made['id']}"
    before = utcnow()
    _record(database, EventType.MESSAGE_DELIVERED, 3)
    # Events of other types, and another subscription's test event, are not replayed.
    everything = _create(client)
    _record(database, EventType.MESSAGE_SENT, 2)
    client.post(f"/api/v1/webhooks/{everything['id']}/test")
    # Three delivered (were failed), none waiting: all three are queued again.
    with database.write() as session:
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.DELIVERED))
    answer = client.post(f"{base}/replay", json={"since": before.isoformat()})
    assert answer.status_code == 202, answer.text
    assert answer.json()["deliveries"] == 3 and answer.json()["capped"] is False
    log = client.get(f"{base}/deliveries", params={"status": "pending"}).json()
    assert len(log["items"]) == 3
    assert {d["event_type"] for d in log["items"]} == {"message.delivered"}
    # Those waiting already are not queued twice; nothing made since later.
    assert (
        client.post(f"{base}/replay", json={"since": before.isoformat()}).json()["deliveries"] == 0
    )
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    assert (
        "No event to replay"
        in client.post(f"{base}/replay", json={"since": later}).json()["message"]
    )


def test_a_disabled_subscription_gives_up_its_queue_and_refuses_replays(
    client: TestClient, database: Database
) -> None:
    made = _create(client)
    base = f"/api/v1/webhooks/{made['id']}"
    _record(database, EventType.MESSAGE_SENT, 2)
    disabled = client.post(f"{base}/disable").json()
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] is None
    counts = client.get(f"{base}/deliveries").json()["counts"]
    assert counts == {"pending": 0, "delivered": 0, "failed": 2}
    for refused in (
        client.post(f"{base}/test"),
        client.post(f"{base}/replay", json={"since": "2020-01-01T00:00:00Z"}),
    ):
        assert refused.status_code == 409
        assert "is disabled: enable it" in refused.json()["message"]
    # Recorded while disabled: not for it.
    _record(database, EventType.MESSAGE_SENT)
    assert client.get(f"{base}/deliveries").json()["counts"]["pending"] == 0


def test_enabling_clears_what_textcast_said_when_it_disabled_it(
    client: TestClient, database: Database
) -> None:
    made = _create(client)
    with database.write() as session:
        session.execute(
            update(WebhookSubscription).values(
                status=SubscriptionStatus.DISABLED,
                disabled_reason="https://93.184.215.14 failed for 72 hours (HTTP 500)",
                disabled_at=utcnow(),
                failing_since=utcnow() - timedelta(hours=72),
            )
        )
    shown = client.get(f"/api/v1/webhooks/{made['id']}").json()
    assert shown["disabled_reason"].endswith("(HTTP 500)")
    enabled = client.post(f"/api/v1/webhooks/{made['id']}/enable").json()
    assert enabled["status"] == "active"
    assert (enabled["disabled_reason"], enabled["failing_since"], enabled["disabled_at"]) == (
        None,
        None,
        None,
    )
    with database.read() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["webhook.create", "webhook.enable"]


def test_rotating_the_secret_shows_the_new_one_once(client: TestClient, database: Database) -> None:
    made = _create(client)
    rotated = client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    with database.read() as session:
        stored = session.get(WebhookSubscription, made["id"])
    assert stored is not None and stored.secret == rotated["secret"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{made['id']}").json()


def test_the_delivery_log_pages_filters_and_counts_alike(
    client: TestClient, database: Database
) -> None:
    made = _create(client)
    base = f"/api/v1/webhooks/{made['id']}"
    _record(database, EventType.MESSAGE_SENT, 5)
    with database.write() as session:
        ids = session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids[:2]))
            .values(
                status=DeliveryStatus.FAILED,
                attempts=1,
                response_status=410,
                response_excerpt="gone",
                latency_ms=12,
            )
        )
        session.add(
            WebhookAttempt(delivery_id=ids[0], response_status=410, response_excerpt="gone")
        )
    page = client.get(f"{base}/deliveries", params={"limit": 3}).json()
    assert [d["id"] for d in page["items"]] == list(reversed(ids))[:3]
    rest = client.get(f"{base}/deliveries", params={"limit": 3, "cursor": page["next_cursor"]})
    assert [d["id"] for d in rest.json()["items"]] == list(reversed(ids))[3:]
    assert page["counts"] == {"pending": 3, "delivered": 0, "failed": 2}
    for status, count in page["counts"].items():
        listed = client.get(f"{base}/deliveries", params={"status": status}).json()["items"]
        assert len(listed) == count
    detail = client.get(f"{base}/deliveries/{ids[0]}").json()
    assert (detail["response_status"], detail["response_excerpt"]) == (410, "gone")
    assert [a["response_status"] for a in detail["attempt_log"]] == [410]
    bad = client.get(f"{base}/deliveries", params={"status": "lost"})
    assert "query.status" in _problems(bad)


def test_a_deleted_subscription_is_gone_with_its_log(
    client: TestClient, database: Database
) -> None:
    made = _create(client)
    _record(database, EventType.MESSAGE_SENT)
    assert client.delete(f"/api/v1/webhooks/{made['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert client.get(f"/api/v1/webhooks/{made['id']}/deliveries").status_code == 404
    with database.read() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_admins_manage_webhooks(client: TestClient, database: Database, role: Role) -> None:
    made = _create(client)
    key = {"Authorization": f"Bearer {make_api_key(database, role)}"}
    for method, path in (
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("GET", f"/api/v1/webhooks/{made['id']}"),
        ("POST", f"/api/v1/webhooks/{made['id']}/test"),
        ("GET", f"/api/v1/webhooks/{made['id']}/deliveries"),
    ):
        answer = client.request(method, path, headers=key, json={})
        assert answer.status_code == 403, (method, path)


def test_the_reference_documents_every_event_type_with_its_example(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert set(document["webhooks"]) == {str(t) for t in EventType}
    schemas = document["components"]["schemas"]
    for type_, spec in stream.CATALOGUE.items():
        operation = document["webhooks"][str(type_)]["post"]
        assert operation["description"].startswith(spec.summary)
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        event = schemas[ref.rsplit("/", 1)[1]]
        assert event["examples"][0]["data"] == spec.example
        assert event["properties"]["type"]["const"] == str(type_)
        data = schemas[event["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert {k: v["description"] for k, v in data["properties"].items()} == spec.fields
        assert {h["name"] for h in operation["parameters"]} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }
