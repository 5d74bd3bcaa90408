"""Abuse limits: requests per key, send quotas, body and page caps, all with clear answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

from tests.factories import make_api_key, numbers
from tests.web.apps import app_client

from textcast.db import Database
from textcast.models import Campaign, Message, Role


def _keys(database_url: str, count: int = 1) -> list[str]:
    database = Database(database_url)
    keys = [make_api_key(database, Role.ADMIN) for _ in range(count)]
    database.dispose()
    return keys


def test_each_key_has_its_own_request_rate(database_url: str) -> None:
    first, second = _keys(database_url, 2)
    with app_client(database_url, api_rate_limit="3/minute") as client:
        for _ in range(3):
            assert client.get("/api/v1/campaigns", headers={"X-API-Key": first}).status_code == 200
        limited = client.get("/api/v1/campaigns", headers={"X-API-Key": first})
        assert limited.status_code == 429
        assert limited.json()["error"] == "too_many_requests"
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert client.get("/api/v1/campaigns", headers={"X-API-Key": second}).status_code == 200


def _draft(client: object, count: int, start: int = 0) -> int:
    answer = client.post(  # type: ignore[attr-defined]
        "/api/v1/campaigns",
        json={"name": "q", "body": "Hi", "recipients": numbers(count, start)},
    )
    assert answer.status_code == 201, answer.text
    campaign_id: int = answer.json()["id"]
    return campaign_id


def test_the_daily_quota_refuses_a_launch_with_retry_after(database_url: str) -> None:
    (key,) = _keys(database_url)
    with app_client(database_url, daily_recipient_quota=5) as client:
        client.headers["X-API-Key"] = key
        first = _draft(client, 3)
        assert client.post(f"/api/v1/campaigns/{first}/send").status_code == 202
        second = _draft(client, 3, start=100)
        refused = client.post(f"/api/v1/campaigns/{second}/send")
        assert refused.status_code == 429, refused.text
        assert "DAILY_RECIPIENT_QUOTA" in refused.json()["message"]
        # The first launch leaves the window in 24 hours: that is when to come back.
        assert 86_000 < int(refused.headers["retry-after"]) <= 86_400
        assert client.get(f"/api/v1/campaigns/{second}").json()["status"] == "draft"
        tutorial = client.post(
            "/api/campaigns/send", json={"recipients": numbers(3, 200), "message": "Hi"}
        )
        assert tutorial.status_code == 429
    database = Database(database_url)
    with database.read() as session:
        assert session.query(Message).count() == 3  # nothing of the refused launches
        assert session.query(Campaign).count() == 2  # nor the tutorial's campaign
    database.dispose()


def test_a_campaign_above_the_per_campaign_maximum_is_refused(database_url: str) -> None:
    (key,) = _keys(database_url)
    with app_client(database_url, max_recipients_per_campaign=2) as client:
        client.headers["X-API-Key"] = key
        campaign = _draft(client, 3)
        refused = client.post(f"/api/v1/campaigns/{campaign}/send")
        assert refused.status_code == 409
        assert "MAX_RECIPIENTS_PER_CAMPAIGN" in refused.json()["message"]
        assert client.get(f"/api/v1/campaigns/{campaign}").json()["total"] == 0


def test_oversized_bodies_get_413_declared_or_streamed(database_url: str) -> None:
    (key,) = _keys(database_url)
    with app_client(database_url, max_request_bytes=2048) as client:
        client.headers["X-API-Key"] = key
        big = {"name": "x", "body": "y", "recipients": ["+12015550100"] * 200}
        declared = client.post("/api/v1/campaigns", json=big)
        assert declared.status_code == 413
        assert declared.json()["error"] == "body_too_large"

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "x", "body": "'
            for _ in range(10):
                yield b"y" * 512
            yield b'"}'

        streamed = client.post(
            "/api/v1/campaigns", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        # CSV uploads have their own, larger cap.
        csv = b"phone\n" + b"+12015550100\n" * 400
        upload = client.post(
            "/api/v1/imports",
            files={"file": ("a.csv", csv, "text/csv")},
            data={"consent_confirmed": "true"},
        )
        assert upload.status_code == 202
        job = f"/api/v1/imports/{upload.json()['id']}"
        deadline = time.monotonic() + 30
        while client.get(job).json()["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_page_sizes_and_strings_are_capped(database_url: str) -> None:
    (key,) = _keys(database_url)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = key
        too_many = client.get("/api/v1/contacts", params={"limit": 100_000})
        assert too_many.status_code == 400
        assert too_many.json()["problems"][0]["field"] == "query.limit"
        long_name = client.post("/api/v1/campaigns", json={"name": "n" * 10_000, "body": "b"})
        assert long_name.status_code == 400
        assert long_name.json()["problems"][0]["field"] == "name"


def test_json_nested_100000_deep_is_a_400_saying_so(database_url: str) -> None:
    (key,) = _keys(database_url)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = key
        bodies = {
            "/api/v1/contacts": "[" * 100_000 + "]" * 100_000,
            "/api/v1/segments": '{"name": "n", "rules": '
            + '{"a": ' * 100_000
            + "1"
            + "}" * 100_001,
        }
        for path, body in bodies.items():
            answer = client.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["error"] == "invalid_input"
            assert answer.json()["problems"][0]["field"] == "body"
            assert "nested too deeply" in answer.json()["message"]
            assert "Traceback" not in answer.text
        # Other unreadable bodies keep saying what is wrong.
        latin = client.post(
            "/api/v1/contacts",
            content=b'{"phone": "\xe9"}',
            headers={"content-type": "application/json"},
        )
        assert latin.status_code == 400 and "UTF-8" in latin.json()["message"]


def test_json_nested_as_deep_as_the_parser_reads_is_a_400_too(database_url: str) -> None:
    """Just below the JSON parser's own limit a body parses; walking it must not overflow
    the stack either (the NUL check on every body once did, at about 950 levels)."""
    (key,) = _keys(database_url)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = key
        for depth in range(850, 1000, 3):
            nested = '{"a": ' * depth + '"x"' + "}" * depth
            body = '{"name": "n", "rules": {"x": ' + nested + "}}"
            answer = client.post(
                "/api/v1/segments", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400, (depth, answer.text)
