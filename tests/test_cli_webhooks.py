"""`textcast webhooks …`: a subscription's whole life from the command line on a real
database, the JSON read as the API reads it, refusals in the API's words, every change
audited as `cli`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.factories import authorize
from tests.web.apps import app_client
from typer.testing import CliRunner

from textcast.cli import app
from textcast.cli.webhooks import read_when
from textcast.db import Database
from textcast.domain import stream
from textcast.models import (
    AuditEntry,
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

runner = CliRunner()
URL = "https://93.184.215.14/in"


def _env(database_url: str, **more: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "tests",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **more,
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, ["webhooks", *args], env=env)
    assert result.exit_code == code, result.output
    return result


def test_a_subscription_is_made_shown_tested_replayed_and_deleted(
    database_url: str, database: Database
) -> None:
    env = _env(database_url)
    made = _run(
        env,
        "create",
        URL,
        "--event",
        "message.failed",
        "--event",
        "contact.unsubscribed",
        "--description",
        "CRM",
    )
    secret = re.search(r"secret \(shown once, store it now\): (whsec_\S+)", made.output)
    assert secret is not None
    with database.read() as session:
        stored = session.scalars(select(WebhookSubscription)).one()
    assert stored.secret == secret[1]
    assert stored.event_types == ["message.failed", "contact.unsubscribed"]

    listed = json.loads(_run(env, "list", "--json").stdout)
    with app_client(database_url) as client:
        authorize(client, database_url)
        assert listed == client.get("/api/v1/webhooks").json()
    assert secret[1] not in _run(env, "list").output + _run(env, "show", str(stored.id)).output

    assert "test event queued: delivery" in _run(env, "test", str(stored.id)).output
    log = _run(env, "deliveries", str(stored.id)).output
    assert "webhook.test" in log and "pending 1, delivered 0, failed 0" in log
    with database.write() as session:
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.FAILED))
        delivery_id = session.scalars(select(WebhookDelivery.id)).one()
    replayed = _run(env, "replay", str(stored.id), "--delivery", str(delivery_id))
    assert f"delivery {delivery_id} queued again" in replayed.output
    assert "pending 1" in _run(env, "deliveries", str(stored.id), "--status", "pending").output

    with database.write() as session:
        stream.record(session, EventType.MESSAGE_FAILED, {"message_id": 1})
        stream.record(session, EventType.MESSAGE_SENT, {"message_id": 1})  # not wanted
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.DELIVERED))
    since = _run(env, "replay", str(stored.id), "--since", "1h")
    assert "1 event queued to be sent again" in since.output
    _run(env, "replay", str(stored.id), code=2)

    rotated = _run(env, "rotate-secret", str(stored.id))
    assert secret[1] not in rotated.output and "whsec_" in rotated.output
    assert "disabled" in _run(env, "disable", str(stored.id)).output
    refused = _run(env, "test", str(stored.id), code=1)
    assert "is disabled: enable it" in refused.output
    assert "active" in _run(env, "enable", str(stored.id)).output
    _run(env, "update", str(stored.id), "--event", "*")
    assert "all" in _run(env, "show", str(stored.id)).output
    _run(env, "delete", str(stored.id), "--yes")
    assert json.loads(_run(env, "list", "--json").stdout) == []

    with database.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "cli").order_by(AuditEntry.id)
        ).all()
    assert actions == [
        "webhook.create",
        "webhook.test",
        "webhook.replay",
        "webhook.replay",
        "webhook.rotate_secret",
        "webhook.disable",
        "webhook.enable",
        "webhook.update",
        "webhook.delete",
    ]


def test_refusals_name_the_field_as_the_api_does(database_url: str) -> None:
    env = _env(database_url)
    private = _run(env, "create", "http://127.0.0.1:9000/in", "--event", "*", code=1)
    assert "url" in private.output and "WEBHOOK_ALLOW_PRIVATE" in private.output
    unknown = _run(env, "create", URL, "--event", "message.bounced", code=1)
    assert "event_types[0]" in unknown.output and "not an event type" in unknown.output
    allowed = _env(database_url, WEBHOOK_ALLOW_PRIVATE="true")
    _run(allowed, "create", "http://127.0.0.1:9000/in", "--event", "*")
    assert "not found" in _run(env, "show", "999", code=1).output


@pytest.mark.parametrize(
    ("text", "ago"),
    [("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("2 days", timedelta(days=2))],
)
def test_since_reads_a_while_ago(text: str, ago: timedelta) -> None:
    assert abs((utcnow() - read_when(text)) - ago) < timedelta(seconds=5)


def test_since_reads_a_moment_in_utc_unless_it_says_otherwise() -> None:
    assert read_when("2026-12-07T09:00").isoformat() == "2026-12-07T09:00:00+00:00"
    assert read_when("2026-12-07T09:00+01:00").isoformat() == "2026-12-07T09:00:00+01:00"
