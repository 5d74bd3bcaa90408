"""/webhooks and /webhooks/{id}: admins only; the list with status and last delivery, the form
with every event type and its summary, the delivery log whose filter counts agree with its
rows, and the notice when textcast disabled an endpoint, also on the overview."""

from __future__ import annotations

import re

from sqlalchemy import update
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.domain import stream
from textcast.domain.webhooks.subscriptions import SUBSCRIBABLE
from textcast.models import (
    DeliveryStatus,
    EventType,
    Role,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

URL = "https://93.184.215.14/in"
REASON = "it failed for 72 hours: the last attempt answered HTTP 503"


def test_only_admins_see_the_webhooks_pages(signed_in: SignedIn) -> None:
    with signed_in(Role.ADMIN) as client:
        made = client.post("/api/v1/webhooks", json={"url": URL, "event_types": ["*"]}).json()
        assert 'href="/webhooks"' in client.get("/").text
    for role in (Role.EDITOR, Role.VIEWER):
        with signed_in(role) as client:
            assert 'href="/webhooks"' not in client.get("/").text
            for path in ("/webhooks", f"/webhooks/{made['id']}"):
                page = client.get(path)
                assert page.status_code == 403
                assert "Webhooks are for admins" in page.text
                assert URL not in page.text


def test_the_form_offers_every_event_type_with_its_summary(signed_in: SignedIn) -> None:
    with signed_in() as client:
        page = client.get("/webhooks").text
    assert "No webhooks yet." in page
    for type_ in SUBSCRIBABLE:
        assert f'value="{type_}"' in page
        assert stream.CATALOGUE[type_].summary.split("(")[0].strip()[:40] in page.replace(
            "&#39;", "'"
        )
    assert 'value="webhook.test"' not in page
    assert 'value="*"' in page and "data-all-types" in page


def test_the_list_shows_each_status_and_last_delivery(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in() as client:
        quiet = client.post("/api/v1/webhooks", json={"url": URL, "event_types": ["*"]}).json()
        tested = client.post(
            "/api/v1/webhooks", json={"url": URL + "/2", "event_types": ["message.sent"]}
        ).json()
        client.post(f"/api/v1/webhooks/{tested['id']}/test")
        client.post(f"/api/v1/webhooks/{quiet['id']}/disable")
        page = client.get("/webhooks").text
    quiet_row = re.search(rf'<tr id="webhook-{quiet["id"]}">.*?</tr>', page, re.S)
    tested_row = re.search(rf'<tr id="webhook-{tested["id"]}">.*?</tr>', page, re.S)
    assert quiet_row is not None and tested_row is not None
    assert "status-disabled" in quiet_row[0] and "None yet" in quiet_row[0]
    assert "status-active" in tested_row[0] and "status-pending" in tested_row[0]
    assert "message.sent" in tested_row[0]


def test_the_log_filters_count_exactly_the_rows_they_list(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in() as client:
        made = client.post("/api/v1/webhooks", json={"url": URL, "event_types": ["*"]}).json()
        with database.write() as session:
            stream.record_many(session, EventType.MESSAGE_SENT, [{"n": n} for n in range(4)])
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id <= 1)
                .values(status=DeliveryStatus.FAILED, response_status=500, error="HTTP 500")
            )
        client.post(f"/api/v1/webhooks/{made['id']}/test")
        base = f"/webhooks/{made['id']}"
        page = client.get(base).text
        counts = dict(re.findall(r'id="filter-(\w+)"[^>]*>\w+ \((\d+)\)', page))
        assert counts == {"all": "5", "pending": "4", "delivered": "0", "failed": "1"}
        for status, count in counts.items():
            shown = client.get(base if status == "all" else f"{base}?status={status}").text
            assert len(re.findall(r'<tr id="delivery-\d+">', shown)) == int(count), status
        assert "HTTP 500" in page and "webhook.test" in page
        # Replay is offered for what is no longer pending.
        assert len(re.findall(r"/deliveries/\d+/replay", page)) == 1


def test_textcast_disabling_an_endpoint_is_told_to_admins(
    signed_in: SignedIn, database: Database
) -> None:
    with signed_in() as client:
        made = client.post("/api/v1/webhooks", json={"url": URL, "event_types": ["*"]}).json()
        with database.write() as session:
            session.execute(
                update(WebhookSubscription).values(
                    status=SubscriptionStatus.DISABLED, disabled_reason=REASON, disabled_at=utcnow()
                )
            )
        for path in ("/", "/webhooks", f"/webhooks/{made['id']}"):
            page = client.get(path).text
            assert "textcast disabled the webhook" in page, path
            assert REASON in page, path
        assert "Send test event" not in client.get(f"/webhooks/{made['id']}").text
    with signed_in(Role.EDITOR) as client:
        assert REASON not in client.get("/").text


def test_a_webhook_that_is_not_there_is_a_page_not_found(signed_in: SignedIn) -> None:
    with signed_in() as client:
        page = client.get("/webhooks/999")
    assert page.status_code == 404
    assert 'href="/webhooks"' in page.text
