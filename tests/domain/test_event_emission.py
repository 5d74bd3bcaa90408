"""Every change the outside world may want to hear of records its event in its own transaction,
with exactly the catalogue's fields, only when a subscription wants it, and only once."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from tests.factories import claim_batch, make_ab_test, make_campaign, numbers
from tests.flows.helpers import advance, policy
from ulid import ULID

from textcast.db import Database
from textcast.domain import campaigns, experiments, flows, inbox, outbox, stream
from textcast.domain.audience import consent, contacts
from textcast.domain.content import links
from textcast.domain.imports import jobs as imports
from textcast.domain.inbox.events import IncomingEvent, StatusReport
from textcast.domain.webhooks import signatures
from textcast.models import (
    AbMetric,
    CampaignKind,
    Contact,
    EventType,
    FlowRun,
    Link,
    Message,
    MessageStatus,
    OutboundEvent,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookKind,
    WebhookSubscription,
    utcnow,
)
from textcast.sinch.statuses import STATUS_CODES, code_meaning

SECRET = b"emission-test-secret"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def subscribe(database: Database, *types: str) -> int:
    with database.write() as session:
        subscription = WebhookSubscription(
            url="https://hooks.example.com/in",
            event_types=list(types) or ["*"],
            secret=signatures.new_secret(),
            status=SubscriptionStatus.ACTIVE,
        )
        session.add(subscription)
        session.flush()
        return subscription.id


def recorded(database: Database, type_: EventType | None = None) -> list[dict[str, Any]]:
    """The `data` of each recorded event (of `type_`), oldest first, checked against the
    catalogue: exactly its fields, timestamps in the stream's format, a delivery each."""
    with database.read() as session:
        query = select(OutboundEvent).order_by(OutboundEvent.id)
        if type_ is not None:
            query = query.where(OutboundEvent.type == type_)
        events = session.scalars(query).all()
        deliveries = session.scalar(select(func.count()).select_from(WebhookDelivery))
        subscriptions = session.scalar(select(func.count()).select_from(WebhookSubscription))
    if type_ is None:
        assert deliveries == len(events) * (subscriptions or 0)
    found = []
    for stored in events:
        body = json.loads(stored.body)
        spec = stream.CATALOGUE[EventType(body["type"])]
        assert set(body["data"]) == set(spec.fields), body["type"]
        for name, value in body["data"].items():
            if name.endswith("_at"):
                assert STAMP.match(value), (name, value)
        found.append(body["data"])
    return found


def types_recorded(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(OutboundEvent.type).order_by(OutboundEvent.id)))


def sent_batch(database: Database, count: int = 3) -> outbox.ClaimedBatch:
    campaign = make_campaign(database, numbers(count), launch=True)
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, SECRET)
    assert batch is not None
    return batch


def report(
    batch: outbox.ClaimedBatch, status: MessageStatus, n: int = 0, code: int = 0, key: str = ""
) -> IncomingEvent:
    at = datetime(2026, 12, 7, 15, 4, 9, 456000, tzinfo=UTC)
    # In Sinch's words, as the adapter puts them (`sinch.events`).
    meaning = code_meaning(code)
    status_report = StatusReport(batch.recipients[n], status, code, batch.id, None, at, meaning)
    return IncomingEvent(
        WebhookKind.DELIVERY_REPORT,
        key or f"{batch.id}:{n}:{status}:{code}",
        "{}",
        (status_report,),
    )


def store(database: Database, *events: IncomingEvent) -> None:
    with database.write() as session:
        inbox.store_events(session.connection(), list(events))


def message_ids(database: Database, campaign_id: int) -> dict[str, int]:
    with database.read() as session:
        rows = session.execute(
            select(Message.phone, Message.id).where(Message.campaign_id == campaign_id)
        )
        return {phone: message_id for phone, message_id in rows}


# -- the catalogue and the words ------------------------------------------------------------


def test_a_codes_meaning_is_sinchs_own_name_and_description() -> None:
    for code, entry in STATUS_CODES.items():
        name, said = code_meaning(code).split(": ", 1)
        assert name == entry.name
        assert said.casefold() == entry.description.casefold()
    assert code_meaning(402) == (
        "Message unroutable: the SMSC rejected the message; a retry will fail the same way"
    )
    assert code_meaning(11) == "Operator error 11: an SMPP or operator error reported by the SMSC"


# -- messages --------------------------------------------------------------------------------


def test_an_accepted_batch_records_one_message_sent_per_message(database: Database) -> None:
    subscribe(database, EventType.MESSAGE_SENT)
    batch = sent_batch(database)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    ids = message_ids(database, batch.campaign_id)
    sent = recorded(database)
    assert [(e["phone"], e["message_id"]) for e in sent] == sorted(
        ids.items(), key=lambda item: item[1]
    )
    assert {e["campaign_id"] for e in sent} == {batch.campaign_id}
    assert {e["campaign_kind"] for e in sent} == {"marketing"}
    assert {e["batch_id"] for e in sent} == {batch.id}
    assert {e["parts"] for e in sent} == {1}
    assert len({e["sent_at"] for e in sent}) == 1


def test_a_batch_found_again_after_its_201_records_no_second_message_sent(
    database: Database,
) -> None:
    subscribe(database, EventType.MESSAGE_SENT)
    batch = sent_batch(database, 2)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")  # reconciliation finds it
    assert len(recorded(database)) == 2


def test_a_refused_batch_records_message_failed_with_sinchs_error(database: Database) -> None:
    subscribe(database, EventType.MESSAGE_FAILED)
    batch = sent_batch(database, 2)
    reason = "syntax_invalid_parameter_format: Invalid sender"
    with database.write() as session:
        outbox.record_rejected(session, batch.id, reason, 400)
    failed = recorded(database)
    ids = message_ids(database, batch.campaign_id)
    assert [(e["phone"], e["message_id"]) for e in failed] == sorted(
        ids.items(), key=lambda item: item[1]
    )
    assert {(e["status"], e["code"], e["meaning"]) for e in failed} == {("failed", 400, reason)}
    assert {e["campaign_kind"] for e in failed} == {"marketing"}


def test_a_delivery_report_records_message_delivered_once(database: Database) -> None:
    subscribe(database, "*")
    batch = sent_batch(database)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    delivered = report(batch, MessageStatus.DELIVERED)
    store(database, delivered, report(batch, MessageStatus.DELIVERED, key="repeat"))
    store(database, delivered)  # Sinch retries the same callback
    store(database, report(batch, MessageStatus.FAILED, code=402))  # behind the final status
    assert types_recorded(database).count("message.delivered") == 1
    assert "message.failed" not in types_recorded(database)
    (event,) = recorded(database, EventType.MESSAGE_DELIVERED)
    assert event == {
        "message_id": message_ids(database, batch.campaign_id)[batch.recipients[0]],
        "campaign_id": batch.campaign_id,
        "campaign_kind": "marketing",
        "phone": batch.recipients[0],
        "code": 0,
        "delivered_at": "2026-12-07T15:04:09.456Z",
    }


def test_a_failure_report_records_message_failed_with_the_codes_meaning(
    database: Database,
) -> None:
    subscribe(database, EventType.MESSAGE_FAILED)
    batch = sent_batch(database)
    store(
        database,
        report(batch, MessageStatus.ABORTED, n=0, code=402),
        report(batch, MessageStatus.DISPATCHED, n=1, code=401),  # not final: no event
        report(batch, MessageStatus.EXPIRED, n=2, code=11),
    )
    failed = {e["phone"]: e for e in recorded(database)}
    assert set(failed) == {batch.recipients[0], batch.recipients[2]}
    aborted = failed[batch.recipients[0]]
    assert (aborted["status"], aborted["code"]) == ("aborted", 402)
    assert aborted["meaning"] == (
        "Message unroutable: the SMSC rejected the message; a retry will fail the same way"
    )
    assert failed[batch.recipients[2]]["meaning"].startswith("Operator error 11")
    assert aborted["failed_at"] == "2026-12-07T15:04:09.456Z"


def test_reports_record_nothing_when_no_subscription_wants_them(database: Database) -> None:
    subscribe(database, EventType.REPLY_RECEIVED)
    with database.write() as session:
        session.add(
            WebhookSubscription(
                url="https://hooks.example.com/off",
                event_types=["*"],
                secret=signatures.new_secret(),
                status=SubscriptionStatus.DISABLED,
            )
        )
    batch = sent_batch(database)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    store(database, report(batch, MessageStatus.DELIVERED), report(batch, MessageStatus.FAILED, 1))
    assert recorded(database) == []


def test_a_group_of_reports_reads_the_subscriptions_once_and_records_one_insert_per_table(
    database: Database,
) -> None:
    subscribe(database, "*")
    batch = sent_batch(database, 20)
    events = [
        report(
            batch,
            MessageStatus.DELIVERED if n % 2 else MessageStatus.FAILED,
            n,
            0 if n % 2 else 402,
        )
        for n in range(20)
    ]
    statements: list[str] = []
    with database.write() as session:
        connection = session.connection()
        if database.is_sqlite:  # the hot path's statements run on the sqlite3 cursor itself
            connection.connection.driver_connection.set_trace_callback(statements.append)  # type: ignore[union-attr]
        else:
            event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
        inbox.store_events(connection, events)
        if database.is_sqlite:
            connection.connection.driver_connection.set_trace_callback(None)  # type: ignore[union-attr]
    statements = [s.strip() for s in statements]
    reads = [s for s in statements if s.startswith("SELECT") and "webhook_subscriptions" in s]
    assert len(reads) == 1
    assert sum(s.startswith("INSERT INTO outbound_events") for s in statements) == 2
    assert sum(s.startswith("INSERT INTO webhook_deliveries") for s in statements) == 2
    assert not any("outbound_events" in s and "RETURNING" in s for s in statements)
    assert len(recorded(database, EventType.MESSAGE_DELIVERED)) == 10
    assert len(recorded(database, EventType.MESSAGE_FAILED)) == 10


# -- contacts --------------------------------------------------------------------------------


def new_contact(database: Database, phone: str = "+12025550143") -> int:
    with database.write() as session:
        draft = contacts.ContactDraft(phone=phone)
        return contacts.create_contact(session, draft, "US", "api", SECRET).id


def test_consent_given_and_withdrawn_records_subscribed_and_unsubscribed(
    database: Database,
) -> None:
    subscribe(database, EventType.CONTACT_SUBSCRIBED, EventType.CONTACT_UNSUBSCRIBED)
    contact_id = new_contact(database)
    with database.write() as session:
        contact = session.get_one(Contact, contact_id)
        consent.opt_out(session, SECRET, contact, consent.Evidence("keyword", "STOP", "STOP"))
    with database.write() as session:
        contact = session.get_one(Contact, contact_id)
        evidence = consent.Evidence("form:spring", "Yes please", purpose="marketing")  # type: ignore[arg-type]
        consent.opt_in(session, SECRET, contact, evidence)
    created, stopped, started = recorded(database)
    assert {k: v for k, v in created.items() if k != "subscribed_at"} == {
        "contact_id": contact_id,
        "phone": "+12025550143",
        "purpose": "marketing",
        "source": "api",
    }
    assert {k: v for k, v in stopped.items() if k != "unsubscribed_at"} == {
        "contact_id": contact_id,
        "phone": "+12025550143",
        "purpose": "all",
        "source": "keyword",
    }
    assert (started["source"], started["purpose"]) == ("form", "marketing")
    assert types_recorded(database) == [
        "contact.subscribed",
        "contact.unsubscribed",
        "contact.subscribed",
    ]


def test_a_change_that_rolls_back_records_nothing(database: Database) -> None:
    subscribe(database, "*")
    contact_id = new_contact(database)

    class Undone(Exception):
        pass

    with pytest.raises(Undone), database.write() as session:
        contact = session.get_one(Contact, contact_id)
        consent.opt_out(session, SECRET, contact, consent.Evidence("api", "asked by phone"))
        assert len(stream.subscribers(session, EventType.CONTACT_UNSUBSCRIBED)) == 1
        raise Undone
    assert types_recorded(database) == ["contact.subscribed"]


def test_no_subscription_records_no_row_for_any_change(database: Database) -> None:
    contact_id = new_contact(database)
    with database.write() as session:
        contact = session.get_one(Contact, contact_id)
        consent.opt_out(session, SECRET, contact, consent.Evidence("api", "asked"))
    batch = sent_batch(database)
    with database.write() as session:
        outbox.record_accepted(session, batch.id, "SINCH1")
    store(database, report(batch, MessageStatus.DELIVERED))
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboundEvent)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_an_import_records_a_subscription_per_row_and_its_completion(
    database: Database, tmp_path: Path
) -> None:
    subscribe(database, EventType.CONTACT_SUBSCRIBED, EventType.IMPORT_COMPLETED)
    path = tmp_path / "contacts.csv"
    path.write_text("phone,first_name\n+12025550101,Ana\n+12025550102,Bob\nnot a number,Cy\n")
    with database.write() as session:
        job = imports.start_import(
            session,
            path=path,
            filename=path.name,
            default_region="US",
            consent_confirmed=True,
            list_name="Imported",
        )
    done = imports.run_import(database, job.id, path, SECRET)
    subscribed = recorded(database, EventType.CONTACT_SUBSCRIBED)
    with database.read() as session:
        ids = {phone: id_ for phone, id_ in session.execute(select(Contact.phone, Contact.id))}
    assert sorted((e["phone"], e["contact_id"]) for e in subscribed) == sorted(ids.items())
    assert {(e["source"], e["purpose"]) for e in subscribed} == {("import", "marketing")}
    (completed,) = recorded(database, EventType.IMPORT_COMPLETED)
    assert {k: v for k, v in completed.items() if k != "completed_at"} == {
        "import_id": job.id,
        "status": "completed",
        "list_id": done.list_id,
        "rows": 3,
        "imported": 2,
        "rejected": 1,
    }
    assert done.list_id is not None


# -- campaigns and links ---------------------------------------------------------------------


def test_a_marketing_campaign_records_started_at_launch_and_completed_at_its_end(
    database: Database,
) -> None:
    subscribe(database, EventType.CAMPAIGN_STARTED, EventType.CAMPAIGN_COMPLETED)
    campaign = make_campaign(database, numbers(2), launch=True)
    (started,) = recorded(database, EventType.CAMPAIGN_STARTED)
    assert {k: v for k, v in started.items() if k != "started_at"} == {
        "campaign_id": campaign.id,
        "name": "Test campaign",
        "recipients": 2,
    }
    with database.write() as session:
        batch = claim_batch(session, campaign.id, 1000, SECRET)
        assert batch is not None
        outbox.record_accepted(session, batch.id, "SINCH1")
    with database.write() as session:
        assert campaigns.complete_finished_campaigns(session) == [campaign.id]
    with database.write() as session:
        assert campaigns.complete_finished_campaigns(session) == []
    (completed,) = recorded(database, EventType.CAMPAIGN_COMPLETED)
    assert {k: v for k, v in completed.items() if k != "completed_at"} == {
        "campaign_id": campaign.id,
        "name": "Test campaign",
        "recipients": 2,
    }


def test_only_marketing_campaigns_are_announced(database: Database) -> None:
    subscribe(database, EventType.CAMPAIGN_STARTED, EventType.CAMPAIGN_COMPLETED)
    draft = campaigns.CampaignDraft("Automatic replies: HELP", "Text STOP to stop", numbers(1))
    with database.write() as session:
        reply = campaigns.create_campaign(session, draft, "US", kind=CampaignKind.REPLY)
        campaigns.launch_campaign(session, reply.id)
    with database.write() as session:
        batch = claim_batch(session, reply.id, 1000, SECRET)
        assert batch is not None
        outbox.record_accepted(session, batch.id, "SINCH1")
    with database.write() as session:
        assert campaigns.complete_finished_campaigns(session) == [reply.id]
    assert recorded(database) == []


def test_an_ab_test_announces_its_start_once_and_its_decision(database: Database) -> None:
    subscribe(
        database,
        EventType.CAMPAIGN_STARTED,
        EventType.CAMPAIGN_COMPLETED,
        EventType.CAMPAIGN_TEST_DECIDED,
    )
    # Any hour will do: the send window is the whole day.
    chosen = policy(quiet_hours="00:00-24:00")
    bodies = ("Spring sale today. STOP to end", "Last day of the sale. STOP to end")
    campaign_id = make_ab_test(
        database, chosen, bodies, utcnow(), audience=50, metric=AbMetric.DELIVERY
    )
    (started,) = recorded(database, EventType.CAMPAIGN_STARTED)  # not once per variant
    assert (started["campaign_id"], started["recipients"]) == (campaign_id, 50)
    with database.write() as session:
        experiments.decide(session, campaign_id, chosen, now=utcnow(), pick="B", picked_by="ana")
    (decided,) = recorded(database, EventType.CAMPAIGN_TEST_DECIDED)
    assert {k: decided[k] for k in ("campaign_id", "winner", "how", "metric")} == {
        "campaign_id": campaign_id,
        "winner": "B",
        "how": "picked",
        "metric": "delivery",
    }
    assert decided["rest_recipients"] == 40
    assert [v["label"] for v in decided["variants"]] == ["A", "B"]
    assert decided["reason"] == "Variant B picked by ana."


def test_a_click_records_link_clicked_with_its_message_and_recipient(database: Database) -> None:
    subscribe(database, EventType.LINK_CLICKED)
    campaign = make_campaign(database, numbers(1), launch=True)
    ((phone, message_id),) = message_ids(database, campaign.id).items()
    with database.write() as session:
        session.add(
            Link(
                code="abcdEFGH",
                campaign_id=campaign.id,
                message_id=message_id,
                url="https://shop.example.com/sale",
            )
        )
    ana = links.visitor_of(b"key", "203.0.113.7", "Mozilla/5.0 (iPhone)")
    for _ in range(2):
        with database.write() as session:
            links.record_click(session, "abcdEFGH", ana)
    with database.write() as session:
        assert links.record_click(session, "zzzzZZZZ", ana) is None
    first, again = recorded(database)
    assert {k: v for k, v in first.items() if k != "clicked_at"} == {
        "campaign_id": campaign.id,
        "message_id": message_id,
        "phone": phone,
        "url": "https://shop.example.com/sale",
        "first_visit": True,
    }
    assert again["first_visit"] is False


# -- flows -----------------------------------------------------------------------------------

WELCOME = {
    "trigger": {"type": "subscribed"},
    "steps": [
        {"id": "hello", "type": "send", "body": "Welcome!"},
        {"id": "pause", "type": "wait", "for": "1d"},
    ],
}


def live_flow(database: Database, definition: dict[str, Any] = WELCOME) -> int:
    with database.write() as session:
        return flows.create_flow(session, "Welcome", definition, publish=True).flow.id


def run_ids(database: Database) -> dict[int, int]:
    """Each contact's run id."""
    with database.read() as session:
        rows = session.execute(select(FlowRun.contact_id, FlowRun.id))
        return {contact_id: run_id for contact_id, run_id in rows}


def test_a_run_records_started_then_ended_by_the_engine(database: Database) -> None:
    subscribe(database, EventType.FLOW_RUN_STARTED, EventType.FLOW_RUN_ENDED)
    flow_id = live_flow(database)
    contact_id = new_contact(database)
    now = datetime.now(UTC)
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(contact_id, "+12025550143"), [], now)
    (started,) = recorded(database, EventType.FLOW_RUN_STARTED)
    run_id = run_ids(database)[contact_id]
    assert {k: v for k, v in started.items() if k != "started_at"} == {
        "flow_id": flow_id,
        "run_id": run_id,
        "contact_id": contact_id,
        "phone": "+12025550143",
    }
    advance(database, policy(), now)
    advance(database, policy(), now + timedelta(days=2))
    (ended,) = recorded(database, EventType.FLOW_RUN_ENDED)
    assert {k: v for k, v in ended.items() if k != "ended_at"} == {
        "flow_id": flow_id,
        "run_id": run_id,
        "contact_id": contact_id,
        "phone": "+12025550143",
        "outcome": "completed",
    }


def test_runs_started_set_based_record_one_event_each(database: Database) -> None:
    subscribe(database, EventType.FLOW_RUN_STARTED, EventType.FLOW_RUN_ENDED)
    flow_id = live_flow(database)
    people = [new_contact(database, phone) for phone in numbers(3)]
    with database.write() as session:
        assert flows.on_subscribed_many(session, people, [], datetime.now(UTC)) == 3
    started = recorded(database, EventType.FLOW_RUN_STARTED)
    runs = run_ids(database)
    assert sorted((e["contact_id"], e["run_id"]) for e in started) == sorted(runs.items())
    assert {e["flow_id"] for e in started} == {flow_id}
    with database.write() as session:
        assert flows.archive_flow(session, flow_id) == 3
    ended = recorded(database, EventType.FLOW_RUN_ENDED)
    assert sorted(e["run_id"] for e in ended) == sorted(runs.values())
    assert {e["outcome"] for e in ended} == {"cancelled"}


def test_a_stop_ends_runs_with_stopped(database: Database) -> None:
    subscribe(database, EventType.FLOW_RUN_ENDED)
    live_flow(database)
    contact_id = new_contact(database)
    with database.write() as session:
        flows.on_subscribed(session, flows.Entrant(contact_id, "+12025550143"), [])
    with database.write() as session:
        assert flows.end_runs(session, contact_ids=[contact_id]) == 1
    (ended,) = recorded(database)
    assert (ended["contact_id"], ended["outcome"]) == (contact_id, "stopped")


def test_events_recorded_together_get_distinct_ulid_ids_of_their_moment(
    database: Database,
) -> None:
    subscribe(database, EventType.MESSAGE_SENT)
    moment = datetime(2026, 12, 7, 15, 4, 5, 123000, tzinfo=UTC)
    with database.write() as session:
        stream.record_many(
            session, EventType.MESSAGE_SENT, [{"n": n} for n in range(50)], at=moment
        )
    with database.read() as session:
        ids = list(session.scalars(select(OutboundEvent.public_id)))
    assert len(set(ids)) == 50
    assert all(i.startswith("msg_") and len(i) == 30 for i in ids)
    assert {ULID.from_str(i.removeprefix("msg_")).datetime for i in ids} == {moment}
