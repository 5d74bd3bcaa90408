import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from tests.factories import authorize, numbers

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    InboundMessage,
    Link,
    LinkVisit,
    Message,
    MessageStatus,
)
from textcast.web.app import create_app

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, sinch_webhook_secret=None, default_region="US"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def add_campaign(database: Database, messages: list[dict[str, Any]], **values: Any) -> int:
    with database.write() as session:
        campaign = Campaign(
            reference=new_reference(),
            name="Spring",
            body="Sale: https://shop.example/spring",
            encoding="GSM-7",
            parts=1,
            status=CampaignStatus.SENDING,
            launched_at=T0,
            **values,
        )
        session.add(campaign)
        session.flush()
        phones = numbers(len(messages))
        defaults = {"campaign_id": campaign.id, "parts": 1, "created_at": T0, "updated_at": T0}
        rows = [
            defaults | {"phone": phone} | message
            for phone, message in zip(phones, messages, strict=True)
        ]
        if rows:
            session.execute(insert(Message), rows)
        return campaign.id


def test_analytics_sum_up_a_campaign(client: TestClient, database: Database) -> None:
    sent, settled = T0 + timedelta(seconds=5), T0 + timedelta(minutes=1, seconds=30)
    delivered = {"status": MessageStatus.DELIVERED, "status_code": 0}
    campaign_id = add_campaign(
        database,
        [
            delivered | {"sent_at": sent, "operator_status_at": settled, "parts": 2},
            delivered | {"sent_at": sent, "operator_status_at": settled, "parts": 2},
            {"status": MessageStatus.FAILED, "status_code": 34, "sent_at": sent}
            | {"operator_status_at": settled},
            {"status": MessageStatus.SKIPPED, "error": "opted_out"},
            {"status": MessageStatus.QUEUED},
        ],
        estimated_cost=0.5,
        spent=0.2,
    )
    with database.write() as session:
        for n, keyword in enumerate(["opt_out", None]):
            session.add(
                InboundMessage(
                    provider_id=f"mo-{n}",
                    from_phone=numbers(1, start=n)[0],
                    to="12017777777",
                    body="STOP" if keyword else "When?",
                    received_at=T0 + timedelta(minutes=5),
                    campaign_id=campaign_id,
                    keyword=keyword,
                )
            )
        session.add(
            Link(
                code="c1", campaign_id=campaign_id, url="https://x.test", clicks=2, unique_clicks=1
            )
        )
        session.add(Link(code="c2", campaign_id=campaign_id, url="https://x.test", clicks=0))

    answer = client.get(f"/api/v1/campaigns/{campaign_id}/analytics")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    waiting = body.pop("waiting")
    assert [(w["reason"], w["messages"]) for w in waiting] == [("queue", 1)]
    assert waiting[0]["text"].startswith("1 message in the queue, handed to Sinch at 30 parts")
    assert body == {
        "campaign_id": campaign_id,
        "name": "Spring",
        "status": "sending",
        "status_reason": None,
        "funnel": {
            "total": 5,
            "queued": 1,
            "in_flight": 0,
            "sent": 3,
            "delivered": 2,
            "failed": 1,
            "refused": 0,
            "expired": 0,
            "rejected": 0,
            "aborted": 0,
            "cancelled": 0,
            "deleted": 0,
            "unknown": 0,
            "skipped": 1,
            "by_status": {"delivered": 2, "failed": 1, "skipped": 1, "queued": 1},
        },
        "failures": [
            {
                "status": "failed",
                "code": 34,
                "name": "Operator error 34",
                "description": "An SMPP or operator error reported by the SMSC",
                "messages": 1,
            }
        ],
        "skipped": {"opted_out": 1},
        "delivery_rate": 2 / 3,
        "replies": {"opt_outs": 1, "keywords": {}, "replies": 1},
        "cost": {
            "estimated": 0.5,
            "budget": None,
            "spent": 0.0395,  # 5 parts sent to the US at the built-in 0.0079
            "parts_planned": 6,
            "parts_sent": 5,
            "committed": 0.2,
        },
        # Sent at 0:05, settled at 1:30: 85 seconds, in buckets of 2 seconds.
        "timeline": [
            {"at": "2026-05-01T10:00:04Z", "sent": 3, "delivered": 0, "undelivered": 0},
            {"at": "2026-05-01T10:01:30Z", "sent": 0, "delivered": 2, "undelivered": 1},
        ],
        "timeline_bucket_seconds": 2,
        "clicks": {"links": 2, "clicked_links": 1, "clicks": 1, "requests": 2},
        "export_url": f"/api/v1/campaigns/{campaign_id}/export.csv",
        "variants": None,  # an ordinary campaign: no A/B test's parts
    }


@pytest.mark.parametrize("path", ["analytics", "export.csv"])
def test_an_unknown_campaign_is_a_404_in_the_error_shape(client: TestClient, path: str) -> None:
    answer = client.get(f"/api/v1/campaigns/999/{path}")
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "message": "campaign 999 not found"}


def test_export_streams_every_message_as_csv(client: TestClient, database: Database) -> None:
    count = 10_001  # three pages of 5,000
    failed = {"status": MessageStatus.ABORTED, "status_code": 405, "error": "no first_name"}
    messages: list[dict[str, Any]] = [failed] + [{"status": MessageStatus.QUEUED}] * (count - 1)
    campaign_id = add_campaign(database, messages)

    answer = client.get(f"/api/v1/campaigns/{campaign_id}/export.csv")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"campaign-{campaign_id}-messages.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == [
        "id",
        "phone",
        "status",
        "status_code",
        "code_meaning",
        "reason",
        "parts",
        "batch_id",
        "sent_at",
        "updated_at",
        "variant",  # last, after the columns older readers know; empty outside A/B tests
    ]
    assert len(rows) == count + 1
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids) and len(set(ids)) == count
    assert rows[1][2:6] == ["aborted", "405", "Unmatched parameter", "no first_name"]
    assert rows[1][9] == "2026-05-01T10:00:00+00:00"
    assert {row[10] for row in rows[1:]} == {""}


def test_export_keeps_cells_from_running_as_spreadsheet_formulas(
    client: TestClient, database: Database
) -> None:
    failed = {"status": MessageStatus.FAILED, "error": "=cmd|' /C calc'!A0"}
    campaign_id = add_campaign(database, [failed, {"status": MessageStatus.FAILED, "error": "@x"}])

    answer = client.get(f"/api/v1/campaigns/{campaign_id}/export.csv")

    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["reason"] for r in rows] == ["'=cmd|' /C calc'!A0", "'@x"]
    assert all(r["phone"].startswith("'+1") for r in rows)


def test_an_export_re_imports_its_numbers_despite_the_quotes(
    client: TestClient, database: Database
) -> None:
    campaign_id = add_campaign(database, [{"status": MessageStatus.DELIVERED}] * 3)
    exported = client.get(f"/api/v1/campaigns/{campaign_id}/export.csv").content
    files = {"file": ("export.csv", exported, "text/csv")}
    job = client.post(
        "/api/v1/imports", files=files, data={"default_region": "US", "consent_confirmed": "true"}
    ).json()
    deadline = time.monotonic() + 30
    while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.02)
        job = client.get(f"/api/v1/imports/{job['id']}").json()
    assert (job["status"], job["created"], job["rejected"]) == ("completed", 3, 0)
    with database.read() as session:
        sent = set(session.scalars(select(Message.phone)))
    imported = client.get("/api/v1/contacts").json()["items"]
    assert {c["phone"] for c in imported} == sent
    assert {c["attributes"]["status"] for c in imported} == {"delivered"}


def test_a_short_link_redirects_and_counts_each_client_once(
    client: TestClient, database: Database
) -> None:
    campaign_id = add_campaign(database, [])
    with database.write() as session:
        session.add(
            Link(code="Ab3dEf9h", campaign_id=campaign_id, url="https://shop.example/spring?a=1")
        )

    for agent in ("Mozilla/5.0 (iPhone)", "Mozilla/5.0 (iPhone)", "Slackbot-LinkExpanding"):
        answer = client.get("/l/Ab3dEf9h", headers={"user-agent": agent}, follow_redirects=False)
        assert answer.status_code == 302
        assert answer.headers["location"] == "https://shop.example/spring?a=1"
        assert answer.headers["cache-control"] == "no-store"

    with database.read() as session:
        link = session.scalars(select(Link)).one()
    assert (link.clicks, link.unique_clicks) == (3, 2)
    clicks = client.get(f"/api/v1/campaigns/{campaign_id}/analytics").json()["clicks"]
    assert clicks == {"links": 1, "clicked_links": 1, "clicks": 2, "requests": 3}


def test_a_flood_of_short_link_requests_is_refused_before_the_database(
    database_url: str, database: Database
) -> None:
    settings = load_settings(database_url=database_url, link_rate_limit="5/minute")
    campaign_id = add_campaign(database, [])
    with database.write() as session:
        session.add(Link(code="Ab3dEf9h", campaign_id=campaign_id, url="https://shop.example/"))
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        answers = [
            client.get("/l/Ab3dEf9h", headers={"user-agent": f"bot/{n}"}, follow_redirects=False)
            for n in range(20)
        ]
    assert [a.status_code for a in answers] == [302] * 5 + [429] * 15
    assert int(answers[-1].headers["retry-after"]) >= 1
    with database.read() as session:
        assert session.scalars(select(Link.clicks)).one() == 5
        assert len(session.scalars(select(LinkVisit)).all()) == 5
        throttled = session.scalars(select(AuditEntry).where(AuditEntry.action == "link.throttled"))
        assert [entry.ip for entry in throttled] == ["testclient"]  # once, not 15 times


@pytest.mark.parametrize("code", ["nope1234", "x" * 100])
def test_an_unknown_short_link_is_a_plain_404(client: TestClient, code: str) -> None:
    answer = client.get(f"/l/{code}", follow_redirects=False)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "This link does not exist."


def test_the_analytics_are_described_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/campaigns/{campaign_id}/analytics" in schema["paths"]
    assert "/api/v1/campaigns/{campaign_id}/export.csv" in schema["paths"]
    funnel = schema["components"]["schemas"]["FunnelOut"]["properties"]
    assert "never sent" in funnel["refused"]["description"]
