"""The event stream hears what reaches textcast over HTTP: Sinch's delivery reports and inbound
texts (through the webhooks' group commit), the API's consent changes and short-link clicks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.domain.test_event_emission import recorded, subscribe, types_recorded
from tests.factories import authorize, claim_batch, make_campaign, numbers
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast.config import Settings, load_settings
from textcast.db import Database
from textcast.domain import outbox
from textcast.models import Contact, EventType, Link, Message
from textcast.web.app import create_app

DR_PATH = "/api/webhooks/delivery-reports"
INBOUND_PATH = "/api/webhooks/inbound"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, secret_key="tests", default_region="US")


@pytest.fixture
def client(settings: Settings, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def post_signed(client: TestClient, settings: Settings, path: str, body: bytes) -> Any:
    answer = client.post(path, content=body, headers=signed_by_sinch(settings, body))
    assert answer.status_code == 200, answer.text
    return answer.json()


def delivery_report(batch: outbox.ClaimedBatch, status: str, code: int) -> bytes:
    return json.dumps(
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": "01SINCHBATCH",
            "recipient": batch.recipients[0].removeprefix("+"),
            "code": code,
            "status": status,
            "at": "2026-12-07T15:04:09.000Z",
            "operator_status_at": "2026-12-07T15:04:08.250Z",
            "client_reference": batch.id,
        }
    ).encode()


def test_a_delivery_report_posted_twice_records_one_delivered_event(
    client: TestClient, settings: Settings, database: Database
) -> None:
    subscribe(database, EventType.MESSAGE_DELIVERED, EventType.MESSAGE_FAILED)
    campaign = make_campaign(database, numbers(2), launch=True)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, b"test-key")
        assert batch is not None
        outbox.record_accepted(session, batch.id, "01SINCHBATCH")
    body = delivery_report(batch, "Delivered", 0)
    assert post_signed(client, settings, DR_PATH, body) == {"status": "stored"}
    assert post_signed(client, settings, DR_PATH, body) == {"status": "duplicate"}
    late = delivery_report(batch, "Failed", 402)
    assert post_signed(client, settings, DR_PATH, late) == {"status": "stored"}
    (delivered,) = recorded(database)
    with database.read() as session:
        message_id = session.scalar(select(Message.id).where(Message.phone == batch.recipients[0]))
    assert delivered == {
        "message_id": message_id,
        "campaign_id": campaign.id,
        "campaign_kind": "marketing",
        "phone": batch.recipients[0],
        "code": 0,
        "delivered_at": "2026-12-07T15:04:08.250Z",
    }


def test_a_text_in_records_reply_received_with_the_campaign_it_answers(
    client: TestClient, settings: Settings, database: Database
) -> None:
    subscribe(database, EventType.REPLY_RECEIVED)
    phone = numbers(1)[0]
    campaign = make_campaign(database, [phone], launch=True)
    post_signed(client, settings, INBOUND_PATH, inbound_callback(1, phone, "Is it online too?"))
    (reply,) = recorded(database)
    assert {k: v for k, v in reply.items() if k not in ("inbound_id", "contact_id")} == {
        "phone": phone,
        "to": "12017777777",
        "body": "Is it online too?",
        "keyword": None,
        "campaign_id": campaign.id,
        "received_at": "2026-01-01T10:00:00.000Z",
    }
    assert isinstance(reply["inbound_id"], int)


def test_a_stop_records_the_reply_with_its_keyword_and_the_unsubscription(
    client: TestClient, settings: Settings, database: Database
) -> None:
    subscribe(database, "*")
    created = client.post("/api/v1/contacts", json={"phone": "+12015550188"})
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    post_signed(client, settings, INBOUND_PATH, inbound_callback(2, "+12015550188", "STOP"))
    post_signed(client, settings, INBOUND_PATH, inbound_callback(2, "+12015550188", "STOP"))
    assert types_recorded(database) == [
        "contact.subscribed",
        "contact.unsubscribed",
        "reply.received",
    ]
    unsubscribed = recorded(database, EventType.CONTACT_UNSUBSCRIBED)
    (reply,) = recorded(database, EventType.REPLY_RECEIVED)
    assert [(e["contact_id"], e["source"], e["purpose"]) for e in unsubscribed] == [
        (contact_id, "keyword", "all")
    ]
    assert (reply["contact_id"], reply["keyword"], reply["body"]) == (contact_id, "opt_out", "STOP")


def test_an_opt_out_through_the_api_records_contact_unsubscribed(
    client: TestClient, database: Database
) -> None:
    subscribe(database, EventType.CONTACT_UNSUBSCRIBED)
    created = client.post("/api/v1/contacts", json={"phone": "+12015550177"}).json()
    answer = client.post(f"/api/v1/contacts/{created['id']}/opt-out", json={"evidence": "asked"})
    assert answer.status_code == 200, answer.text
    (event,) = recorded(database)
    assert {k: v for k, v in event.items() if k != "unsubscribed_at"} == {
        "contact_id": created["id"],
        "phone": "+12015550177",
        "purpose": "all",
        "source": "api",
    }


def test_a_short_link_opened_records_link_clicked(client: TestClient, database: Database) -> None:
    subscribe(database, EventType.LINK_CLICKED)
    campaign = make_campaign(database, numbers(1), launch=True)
    with database.write() as session:
        message_id, phone = session.execute(select(Message.id, Message.phone)).one()
        session.add(
            Link(
                code="Ab3dEf9h",
                campaign_id=campaign.id,
                message_id=message_id,
                url="https://x.example/",
            )
        )
    answer = client.get("/l/Ab3dEf9h", follow_redirects=False)
    assert answer.status_code == 302
    (click,) = recorded(database)
    assert (click["message_id"], click["phone"], click["url"], click["first_visit"]) == (
        message_id,
        phone,
        "https://x.example/",
        True,
    )


def test_no_subscription_no_event_over_http(
    client: TestClient, settings: Settings, database: Database
) -> None:
    post_signed(client, settings, INBOUND_PATH, inbound_callback(3, "+12015550166", "STOP"))
    with database.read() as session:
        assert session.scalar(select(Contact.id)) is not None
    assert types_recorded(database) == []
