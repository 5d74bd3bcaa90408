from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize

from textcast.config import load_settings
from textcast.web.app import create_app


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, default_region="US", prices={"US": 0.01}, secret_key="k" * 32
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def _create(client: TestClient, **extra: object) -> dict[str, object]:
    answer = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Spring",
            "body": 'Hi {{ first_name | default("there") }}, sale today',
            "recipients": ["+12015550100", "+12015550101", "+12015550101"],
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created


def test_the_plan_prices_and_samples_without_sending(client: TestClient) -> None:
    campaign = _create(client)
    plan = client.post(f"/api/v1/campaigns/{campaign['id']}/plan")
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["recipients"] == 2 and body["parts"] == 2
    assert body["cost"] == pytest.approx(0.02) and body["currency"] == "USD"
    assert body["by_country"] == [{"country": "US", "recipients": 2, "parts": 2, "cost": 0.02}]
    assert body["sample"][0]["text"] == "Hi there, sale today"
    assert client.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "draft"


def test_impossible_transitions_are_409_and_a_copy_is_a_new_draft(client: TestClient) -> None:
    campaign = _create(client)
    cid = campaign["id"]
    assert client.post(f"/api/v1/campaigns/{cid}/pause").status_code == 409
    assert client.post(f"/api/v1/campaigns/{cid}/resume").status_code == 409
    assert client.post(f"/api/v1/campaigns/{cid}/send").status_code == 202
    assert client.post(f"/api/v1/campaigns/{cid}/send").status_code == 409
    paused = client.post(f"/api/v1/campaigns/{cid}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert client.post(f"/api/v1/campaigns/{cid}/resume").json()["status"] == "sending"
    cancelled = client.post(f"/api/v1/campaigns/{cid}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/campaigns/{cid}/cancel").status_code == 409
    copy = client.post(f"/api/v1/campaigns/{cid}/duplicate")
    assert copy.status_code == 201
    assert copy.json()["status"] == "draft" and copy.json()["recipient_count"] == 2


def test_a_budget_below_the_estimate_refuses_the_launch(client: TestClient) -> None:
    campaign = _create(client, budget=0.01)
    refused = client.post(f"/api/v1/campaigns/{campaign['id']}/send")
    assert refused.status_code == 409
    assert "budget" in refused.text
    assert client.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "draft"


def test_bad_schedule_fields_are_named(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/campaigns",
        json={
            "name": "x",
            "body": "{{ shoe_size }}",
            "recipients": ["+12015550100"],
            "local_send_time": "25:00",
        },
    )
    assert answer.status_code == 400
    fields = {p["field"] for p in answer.json()["problems"]}
    assert fields == {"local_send_time", "body"}


def test_a_test_send_is_its_own_one_recipient_campaign(client: TestClient) -> None:
    campaign = _create(client)
    sent = client.post(f"/api/v1/campaigns/{campaign['id']}/test", json={"phone": "2015550199"})
    assert sent.status_code == 202, sent.text
    assert sent.json()["kind"] == "test" and sent.json()["recipient_count"] == 1
    bad = client.post(f"/api/v1/campaigns/{campaign['id']}/test", json={"phone": "banana"})
    assert bad.status_code == 400


def test_a_plain_launch_estimates_what_its_plan_costs(database_url: str) -> None:
    """The launch's estimate, the plan, the budget and the spend price a text alike: by the
    contact's country, else the number's calling code. A Canadian or Puerto Rican number
    shares +1 with the US; a contact's country may also be set by hand."""
    settings = load_settings(
        database_url=database_url,
        default_region="US",
        prices={"US": 0.01, "CA": 0.02, "PR": 0.03, "IE": 0.04, "GB": 0.05},
        secret_key="k" * 32,
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        people = [
            {"phone": "+14165550100"},  # Toronto: CA from the number
            {"phone": "+17875550100"},  # Puerto Rico: PR from the number
            {"phone": "+447911123456", "country": "IE"},  # set by hand
        ]
        for person in people:
            made = client.post("/api/v1/contacts", json=person)
            assert made.status_code == 201, made.text
        campaign = _create(
            client,
            body="Sale today",
            recipients=[*(person["phone"] for person in people), "+12015550100"],
        )
        plan = client.post(f"/api/v1/campaigns/{campaign['id']}/plan").json()
        assert {row["country"]: row["cost"] for row in plan["by_country"]} == pytest.approx(
            {"CA": 0.02, "PR": 0.03, "IE": 0.04, "US": 0.01}
        )
        launched = client.post(f"/api/v1/campaigns/{campaign['id']}/send")
        assert launched.status_code == 202, launched.text
        sent = client.get(f"/api/v1/campaigns/{campaign['id']}").json()
        assert plan["cost"] == pytest.approx(0.10)
        assert sent["estimated_cost"] == pytest.approx(plan["cost"])
