"""Every kind of bad input the API can be sent is answered in plain words, never pydantic's."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize

from textcast.config import load_settings
from textcast.web.app import create_app
from textcast.wording import PYDANTIC_PHRASES

CAMPAIGN = {"name": "Sale", "body": "Hi", "recipients": ["+12025550100"]}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, sinch_webhook_secret=None, default_region="US"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


# (method, path, JSON body or None, the field at fault, what the answer says about it)
CASES = [
    ("post", "/api/v1/encoding", {}, "text", "is required"),
    ("post", "/api/v1/encoding", {"text": 42}, "text", "must be text"),
    ("post", "/api/v1/encoding", {"text": "a" * 2001}, "text", "must be at most 2,000 characters"),
    ("post", "/api/v1/lists", {"name": "x" * 1000}, "name", "must be at most 200 characters"),
    ("post", "/api/v1/apikeys", {"name": "k", "scopes": []}, "scopes", "must not be empty"),
    ("post", "/api/v1/apikeys", {"name": "", "scopes": ["read"]}, "name", "must not be empty"),
    (
        "post",
        "/api/v1/apikeys",
        {"name": "k", "scopes": ["everything"]},
        "scopes[0]",
        "must be one of: read, send, admin",
    ),
    (
        "post",
        "/api/v1/users",
        {"email": "a@example.com", "role": "boss"},
        "role",
        "must be one of: admin, editor, viewer",
    ),
    ("patch", "/api/v1/users/1", {"disabled": "perhaps"}, "disabled", "must be true or false"),
    (
        "post",
        "/api/v1/campaigns",
        {**CAMPAIGN, "lists": ["first"]},
        "lists[0]",
        "must be a whole number, such as 500",
    ),
    (
        "post",
        "/api/v1/campaigns",
        {**CAMPAIGN, "recipients": "+12025550100"},
        "recipients",
        "must be a list",
    ),
    (
        "post",
        "/api/v1/campaigns",
        {**CAMPAIGN, "budget": "lots"},
        "budget",
        "must be a number, such as 30 or 0.5",
    ),
    ("post", "/api/v1/campaigns", {**CAMPAIGN, "budget": -1}, "budget", "must be more than 0"),
    (
        "post",
        "/api/v1/campaigns",
        {**CAMPAIGN, "send_at": "tomorrow"},
        "send_at",
        "must be a date and time such as 2026-12-07T14:05:00Z",
    ),
    (
        "post",
        "/api/v1/campaigns",
        {**CAMPAIGN, "recipients": ["+12025550100", "555-12"]},
        "recipients[1]",
        "Line 2: '555-12' is too short for a US number",
    ),
    (
        "post",
        "/api/v1/contacts",
        {"phone": "555-12"},
        "phone",
        "'555-12' is too short for a US number",
    ),
    (
        "post",
        "/api/v1/contacts",
        {"phone": "+12025550100", "attributes": [1]},
        "attributes",
        "must be a JSON object",
    ),
    ("get", "/api/v1/campaigns?limit=0", None, "query.limit", "must be 1 or more"),
    ("get", "/api/v1/campaigns?limit=100000", None, "query.limit", "must be 200 or less"),
    ("get", "/api/v1/audit?since=yesterday", None, "query.since", None),
    (
        "get",
        "/api/v1/campaigns/first",
        None,
        "path.campaign_id",
        "must be a whole number, such as 500",
    ),
    ("patch", "/api/v1/me", {"display_time_zone": "Mars/Olympus"}, "display_time_zone", None),
    ("patch", "/api/v1/me", {"display_time_zone": 3}, "display_time_zone", "must be text"),
    ("patch", "/api/v1/me", {"display_time_zone": "UTC", "theme": "dark"}, "theme", None),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "message"), CASES)
def test_bad_input_is_answered_in_plain_words(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, object] | None,
    field: str,
    message: str | None,
) -> None:
    answer = getattr(client, method)(path, **({} if body is None else {"json": body}))
    assert answer.status_code == 400, answer.text
    error = answer.json()
    problems = {p["field"]: p["message"] for p in error["problems"]}
    assert field in problems, problems
    if message is not None:
        assert problems[field] == message
    assert (
        error["message"]
        == f"{len(problems)} problem{'' if len(problems) == 1 else 's'} in the request"
    )
    for phrase in (*PYDANTIC_PHRASES, "(s)"):
        assert phrase not in answer.text


def test_a_body_that_is_not_json_says_so(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/encoding", content=b"{text", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    [problem] = answer.json()["problems"]
    assert problem["field"] == "body"
    assert problem["message"].startswith("is not valid JSON")
