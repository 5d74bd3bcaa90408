from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize, numbers

from textcast.config import load_settings
from textcast.web.app import create_app


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, sinch_webhook_secret=None, default_region="US"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def test_creates_a_draft_and_reports_its_audience(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Spring",
            "body": "Sale today!",
            "recipients": ["+12015550100", "(201) 555-0100", "201-555-0101"],
        },
    )
    assert answer.status_code == 201, answer.text
    campaign = answer.json()
    assert campaign["status"] == "draft"
    assert campaign["recipient_count"] == 2
    assert campaign["encoding"] == "GSM-7" and campaign["parts"] == 1
    assert campaign["client_reference"].startswith("tc_")


def test_a_400_names_every_bad_number_and_why(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/campaigns",
        json={
            "name": "x",
            "body": "hi",
            "recipients": ["+12015550100", "banana", "+1 800 555 0100", "12"],
        },
    )
    assert answer.status_code == 400
    problems = answer.json()["problems"]
    assert [(p["field"], p["message"]) for p in problems] == [
        ("recipients[1]", "Line 2: 'banana' is not a phone number"),
        (
            "recipients[2]",
            "Line 3: '+1 800 555 0100' is not a mobile number (landline, toll-free or premium)",
        ),
        ("recipients[3]", "Line 4: '12' is too short for a US number"),
    ]
    assert client.get("/api/v1/campaigns/1").status_code == 404


def test_thousands_of_bad_numbers_list_the_first_hundred_and_count_the_rest(
    client: TestClient,
) -> None:
    bad = ["banana"] * 5_000
    answer = client.post("/api/v1/campaigns", json={"name": "x", "body": "", "recipients": bad})
    assert answer.status_code == 400
    error = answer.json()
    assert error["message"] == "5,001 problems in the request; the first 100 are listed"
    assert error["problems"][0]["field"] == "body"  # what else is wrong is still said
    assert error["problems"][-1] == {
        "field": "recipients[98]",
        "message": "Line 99: 'banana' is not a phone number",
        "value": "banana",
    }
    assert error["unlisted_problems"] == 4_901
    assert len(answer.content) < 20_000


def test_thousands_of_malformed_items_list_the_first_hundred(client: TestClient) -> None:
    recipients = [n for n in range(3_000)]  # numbers where strings are expected
    answer = client.post(
        "/api/v1/campaigns", json={"name": "x", "body": "hi", "recipients": recipients}
    )
    assert answer.status_code == 400
    error = answer.json()
    assert len(error["problems"]) == 100 and error["unlisted_problems"] == 2_900
    assert error["message"] == "3,000 problems in the request; the first 100 are listed"


def test_schema_errors_are_400_naming_the_field(client: TestClient) -> None:
    answer = client.post("/api/v1/campaigns", json={"name": "x", "recipients": "+12015550100"})
    assert answer.status_code == 400
    fields = {p["field"] for p in answer.json()["problems"]}
    assert fields == {"body", "recipients"}


def test_send_queues_every_message_and_cannot_be_repeated(client: TestClient) -> None:
    created = client.post(
        "/api/v1/campaigns", json={"name": "x", "body": "hi", "recipients": numbers(30)}
    ).json()
    sent = client.post(f"/api/v1/campaigns/{created['id']}/send")
    assert sent.status_code == 202
    assert sent.json()["status"] == "sending"
    state = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert state["counts"] == {"queued": 30}
    assert (state["total"], state["final"]) == (30, 0)
    again = client.post(f"/api/v1/campaigns/{created['id']}/send")
    assert again.status_code == 409
    assert "draft" in again.json()["message"]


def test_messages_are_paged_with_a_cursor(client: TestClient) -> None:
    created = client.post(
        "/api/v1/campaigns", json={"name": "x", "body": "hi", "recipients": numbers(25)}
    ).json()
    client.post(f"/api/v1/campaigns/{created['id']}/send")
    seen: list[str] = []
    cursor = 0
    while True:
        page = client.get(
            f"/api/v1/campaigns/{created['id']}/messages",
            params={"limit": 10, "cursor": cursor, "status": "queued"},
        ).json()
        seen += [m["phone"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(numbers(25))
    bad = client.get(f"/api/v1/campaigns/{created['id']}/messages", params={"status": "lost"})
    assert bad.status_code == 400


def test_tutorial_endpoint_takes_any_number_of_recipients(client: TestClient) -> None:
    answer = client.post(
        "/api/campaigns/send", json={"recipients": numbers(2500), "message": "Hello from textcast"}
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["recipients"] == 2500 and body["status"] == "sending"
    assert body["client_reference"].startswith("tc_")
    state = client.get(f"/api/v1/campaigns/{body['campaign_id']}").json()
    assert state["counts"] == {"queued": 2500}


def test_tutorial_endpoint_names_bad_entries(client: TestClient) -> None:
    answer = client.post("/api/campaigns/send", json={"recipients": ["nope"], "message": ""})
    assert answer.status_code == 400
    assert {p["field"] for p in answer.json()["problems"]} == {"recipients[0]", "message"}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
    assert "/api/v1/campaigns" in client.get("/openapi.json").json()["paths"]


def test_campaigns_are_listed_newest_first(client: TestClient) -> None:
    for name in ("first", "second", "third"):
        client.post(
            "/api/v1/campaigns", json={"name": name, "body": "hi", "recipients": numbers(1)}
        )
    page = client.get("/api/v1/campaigns", params={"limit": 2}).json()
    assert [c["name"] for c in page["items"]] == ["third", "second"]
    rest = client.get("/api/v1/campaigns", params={"cursor": page["next_cursor"]}).json()
    assert [c["name"] for c in rest["items"]] == ["first"]
    assert rest["next_cursor"] is None


def test_messages_filter_by_reason_and_number_and_carry_meaning_and_cost(
    client: TestClient,
) -> None:
    # One recipient has the name, so the campaign is not empty and can be sent.
    named = client.post("/api/v1/contacts", json={"phone": numbers(4)[3], "first_name": "Ana"})
    assert named.status_code == 201, named.text
    created = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "body": "Hi {{ first_name }}", "recipients": numbers(4)},
    ).json()
    assert client.post(f"/api/v1/campaigns/{created['id']}/send").status_code == 202
    path = f"/api/v1/campaigns/{created['id']}/messages"
    skipped = client.get(path, params={"reason": "missing_merge_field"}).json()["items"]
    assert [m["phone"] for m in skipped] == numbers(3)
    assert skipped[0]["reason"] == "A merge field had no value and no default"
    assert skipped[0]["missing_fields"] == ["first_name"] and skipped[0]["cost"] is None
    assert skipped[0]["code_name"] is None and skipped[0]["sent_at"] is None
    one = client.get(path, params={"number": "+1 (201) 555-0001"}).json()["items"]
    assert [m["phone"] for m in one] == [numbers(3)[1]]
    assert client.get(path, params={"reason": "opted_out"}).json()["items"] == []
    bad = client.get(path, params={"reason": "bored"})
    assert bad.status_code == 400
    (problem,) = bad.json()["problems"]
    assert problem["field"] == "reason"
    assert problem["message"].startswith("not a skip reason; use one of: opted_out, invalid")
    state = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert state["figures"]["skipped"] == 3 and state["figures"]["messages"] == 4
    assert state["final"] == 3
