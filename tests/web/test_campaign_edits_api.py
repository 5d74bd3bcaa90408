"""`PATCH` and `DELETE /api/v1/campaigns/{id}`, the refusal of an empty audience, and times in
the past, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize
from tests.web.apps import app_client

from textcast.models import Role

NUMBERS = ["+12015550100", "+12015550101"]


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with app_client(database_url, default_region="US", secret_key="k" * 32) as client:
        authorize(client, database_url, Role.EDITOR)
        yield client


def _create(client: TestClient, **extra: object) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/campaigns",
        json={"name": "Spring", "body": "Sale today", "recipients": NUMBERS, **extra},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _in(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def _audit(client: TestClient, database_url: str, action: str) -> list[dict[str, Any]]:
    admin = TestClient(client.app)
    authorize(admin, database_url, Role.ADMIN)
    entries: list[dict[str, Any]] = admin.get("/api/v1/audit").json()["items"]
    return [e for e in entries if e["action"] == action]


def test_a_patch_changes_only_the_fields_given(client: TestClient, database_url: str) -> None:
    campaign = _create(client, sender="Shop", budget=3)
    answer = client.patch(f"/api/v1/campaigns/{campaign['id']}", json={"body": "Sale ends today"})
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["body"] == "Sale ends today" and changed["id"] == campaign["id"]
    assert (changed["name"], changed["sender"], changed["budget"]) == ("Spring", "Shop", 3)
    assert changed["recipient_count"] == 2 and changed["status"] == "draft"
    assert len(client.get("/api/v1/campaigns").json()["items"]) == 1
    [entry] = _audit(client, database_url, "campaign.update")
    assert entry["target"] == f"campaign:{campaign['id']}"
    assert entry["detail"] == {"fields": ["body"]}


def test_null_clears_an_option_but_not_a_required_field(client: TestClient) -> None:
    campaign = _create(client, budget=3)
    path = f"/api/v1/campaigns/{campaign['id']}"
    cleared = client.patch(path, json={"budget": None})
    assert cleared.status_code == 200 and cleared.json()["budget"] is None
    refused = client.patch(path, json={"name": None, "body": None})
    assert refused.status_code == 400
    assert [p["field"] for p in refused.json()["problems"]] == ["name", "body"]
    assert refused.json()["problems"][0]["message"] == "cannot be null: leave it out to keep it"


def test_a_patch_is_checked_like_a_new_campaign_and_a_refused_one_changes_nothing(
    client: TestClient,
) -> None:
    campaign = _create(client)
    path = f"/api/v1/campaigns/{campaign['id']}"
    refused = client.patch(
        path,
        json={
            "name": "",
            "body": "{{ shoe_size }}",
            "recipients": ["12"],
            "send_at": _in(hours=-1),
            "lists": [999],
        },
    )
    assert refused.status_code == 400
    fields = {p["field"] for p in refused.json()["problems"]}
    assert fields == {"name", "body", "recipients[0]", "send_at", "lists[0]"}
    assert client.get(path).json()["body"] == "Sale today"
    assert client.get(path).json()["recipient_count"] == 2


def test_a_send_time_in_the_past_is_refused_unless_within_a_minute(client: TestClient) -> None:
    past = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "body": "Hi", "recipients": NUMBERS, "send_at": _in(minutes=-5)},
    )
    assert past.status_code == 400
    [problem] = past.json()["problems"]
    assert problem["field"] == "send_at" and problem["message"].startswith("is in the past")
    expired = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "body": "Hi", "recipients": NUMBERS, "expires_at": _in(hours=-1)},
    )
    assert {p["field"] for p in expired.json()["problems"]} == {"expires_at"}
    assert _create(client, send_at=_in(seconds=-30))["send_at"] is not None


def test_a_scheduled_campaign_changed_is_a_draft_again_without_its_messages(
    client: TestClient, database_url: str
) -> None:
    campaign = _create(client, send_at=_in(days=1))
    path = f"/api/v1/campaigns/{campaign['id']}"
    assert client.post(f"{path}/send").json()["status"] == "scheduled"
    assert client.get(path).json()["total"] == 2
    changed = client.patch(path, json={"body": "Sale starts tomorrow"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "draft" and changed.json()["launched_at"] is None
    assert client.get(path).json()["total"] == 0
    assert _audit(client, database_url, "campaign.update")[0]["detail"] == {
        "fields": ["body"],
        "unscheduled": True,
    }
    rescheduled = client.post(f"{path}/send")
    assert rescheduled.json()["status"] == "scheduled"
    assert client.get(path).json()["total"] == 2


def test_delete_removes_a_draft_or_a_scheduled_campaign(
    client: TestClient, database_url: str
) -> None:
    draft = _create(client)
    scheduled = _create(client, send_at=_in(days=1))
    client.post(f"/api/v1/campaigns/{scheduled['id']}/send")
    gone = client.delete(f"/api/v1/campaigns/{draft['id']}")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {
        "id": draft["id"],
        "name": "Spring",
        "status": "draft",
        "messages_deleted": 0,
    }
    unscheduled = client.delete(f"/api/v1/campaigns/{scheduled['id']}")
    assert unscheduled.json()["status"] == "scheduled"
    assert unscheduled.json()["messages_deleted"] == 2
    for campaign in (draft, scheduled):
        assert client.get(f"/api/v1/campaigns/{campaign['id']}").status_code == 404
        assert client.delete(f"/api/v1/campaigns/{campaign['id']}").status_code == 404
    entries = _audit(client, database_url, "campaign.delete")
    assert sorted((e["target"], e["detail"]["status"]) for e in entries) == [
        (f"campaign:{draft['id']}", "draft"),
        (f"campaign:{scheduled['id']}", "scheduled"),
    ]


def test_a_campaign_sending_is_neither_changed_nor_deleted(client: TestClient) -> None:
    campaign = _create(client)
    path = f"/api/v1/campaigns/{campaign['id']}"
    assert client.post(f"{path}/send").status_code == 202
    for answer in (client.patch(path, json={"body": "x"}), client.delete(path)):
        assert answer.status_code == 409
        assert answer.json()["error"] == "conflict"
        assert "is sending; only a draft, or a scheduled campaign" in answer.json()["message"]
    assert client.get(path).json()["body"] == "Sale today"


def test_an_empty_audience_is_planned_as_such_and_not_sent(client: TestClient) -> None:
    nobody = client.post("/api/v1/lists", json={"name": "Nobody yet"}).json()
    campaign = _create(client, recipients=[], lists=[nobody["id"]])
    path = f"/api/v1/campaigns/{campaign['id']}"
    plan = client.post(f"{path}/plan").json()
    assert plan["empty_audience"] is True and plan["recipients"] == 0
    assert plan["warnings"][0].startswith("The audience is empty")
    refused = client.post(f"{path}/send")
    assert refused.status_code == 409
    assert "the audience is empty" in refused.json()["message"]
    assert client.get(path).json()["status"] == "draft"
    assert client.get(path).json()["total"] == 0


def test_an_audience_everyone_left_out_of_is_refused_too(client: TestClient) -> None:
    phone = NUMBERS[0]
    contact = client.post("/api/v1/contacts", json={"phone": phone}).json()
    assert client.post(f"/api/v1/contacts/{contact['id']}/opt-out", json={}).status_code == 200
    campaign = _create(client, recipients=[phone])
    path = f"/api/v1/campaigns/{campaign['id']}"
    plan = client.post(f"{path}/plan").json()
    assert plan["empty_audience"] is True and plan["excluded"] == {"opted_out": 1}
    assert "its only number is left out (1 opted out)" in plan["warnings"][0]
    refused = client.post(f"{path}/send")
    assert refused.status_code == 409 and "the audience is empty" in refused.text


def test_a_viewer_neither_changes_nor_deletes(client: TestClient, database_url: str) -> None:
    campaign = _create(client)
    viewer = TestClient(client.app)
    authorize(viewer, database_url, Role.VIEWER)
    path = f"/api/v1/campaigns/{campaign['id']}"
    assert viewer.patch(path, json={"body": "x"}).status_code == 403
    assert viewer.delete(path).status_code == 403
    assert client.get(path).json()["body"] == "Sale today"


def test_the_openapi_documents_the_new_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]["/api/v1/campaigns/{campaign_id}"]
    assert {"patch", "delete"} <= set(paths)
    for method in ("patch", "delete"):
        assert paths[method]["summary"] and paths[method]["description"]
        assert {"400", "403", "404", "409"} <= set(paths[method]["responses"])
