"""A contact's consent record (`GET /api/v1/contacts/{id}/consent`), its downloads, and the
export of everyone's ledger (`GET /api/v1/consent/export`), for a carrier's audit."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import authorize, form_signup, make_form, reply_y

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import signups
from textcast.domain.audience import lists
from textcast.models import (
    Message,
    Signup,
    SignupForm,
    SignupStatus,
    utcnow,
)
from textcast.web.app import create_app

PHONE = "+12015550123"
DISCLOSURE = (
    "By submitting, you agree to receive recurring automated marketing texts from Shop. "
    "Consent is not a condition of purchase. Msg & data rates may apply. Reply STOP to cancel."
)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, default_region="US", secret_key="consent-test-key"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def _policy(client: TestClient) -> signups.SignupPolicy:
    policy: signups.SignupPolicy = client.app.state.runtime.signup_policy  # type: ignore[attr-defined]
    return policy


def _list(database: Database, name: str = "VIP") -> int:
    with database.write() as session:
        return lists.create_list(session, name).id


def _request(form: SignupForm, phone: str = PHONE, **changes: Any) -> signups.SignupRequest:
    values: dict[str, Any] = {
        "welcome_text": form.welcome_text,
        "fields": {"phone": "(201) 555-0123", "first_name": "Ana", "store": "Lyon"},
    }
    return form_signup(form, phone, **{**values, **changes})


def _reply_y(database: Database, policy: signups.SignupPolicy, phone: str = PHONE) -> int:
    with database.write() as session:
        return reply_y(session, policy, phone, f"mo-{phone}").id


def _signed_up(client: TestClient, database: Database, **changes: Any) -> tuple[int, int, int]:
    """A contact made by a confirmed form sign-up: (contact id, sign-up id, the "Y"'s id)."""
    form = make_form(database, _list(database), name="Spring form", disclosure=DISCLOSURE)
    policy = _policy(client)
    with database.write() as session:
        signup_id = signups.start_signup(session, policy, _request(form, **changes)).id
    reply = _reply_y(database, policy)
    with database.read() as session:
        contact_id = session.get_one(Signup, signup_id).contact_id
    assert contact_id is not None
    return contact_id, signup_id, reply


def test_a_confirmed_sign_up_s_record_carries_its_evidence_in_full(
    client: TestClient, database: Database
) -> None:
    contact_id, signup_id, reply = _signed_up(client, database)
    record = client.get(f"/api/v1/contacts/{contact_id}/consent").json()
    assert (record["phone"], record["marketing"], record["transactional"]) == (
        PHONE,
        "confirmed",
        True,
    )
    assert (record["pending_signups"], record["signups"]) == (0, [])
    [event] = record["ledger"]
    assert (event["kind"], event["purpose"], event["by"]) == ("opt_in", "marketing", None)
    assert event["source"].startswith("form:form-")
    assert event["evidence"] == DISCLOSURE
    assert event["inbound_message_id"] == reply and event["inbound_received_at"]
    signup = event["signup"]
    assert signup["id"] == signup_id
    assert {k: signup[k] for k in ("channel", "status", "form_name", "disclosure")} == {
        "channel": "form",
        "status": "confirmed",
        "form_name": "Spring form",
        "disclosure": DISCLOSURE,
    }
    assert signup["form_slug"] == event["source"].removeprefix("form:")
    assert (signup["disclosure_version"], signup["language"]) == (1, "en")
    assert signup["page_url"].startswith("https://texts.example.com/join/form-")
    assert (signup["referer"], signup["origin"]) == (
        "https://shop.example.com/deals",
        "https://shop.example.com",
    )
    assert (signup["ip"], signup["user_agent"]) == (
        "203.0.113.9",
        "Mozilla/5.0 (X11; Linux x86_64) Chromium/131",
    )
    assert signup["fields"] == {"phone": "(201) 555-0123", "first_name": "Ana", "store": "Lyon"}
    assert signup["submitted_at"] <= signup["confirmed_at"]
    assert signup["confirmation_inbound_id"] == reply
    assert signup["confirmation_received_at"] == event["inbound_received_at"]
    contact = client.get(f"/api/v1/contacts/{contact_id}").json()
    assert contact["consent"] == {"marketing": "confirmed", "transactional": True}


def test_sign_ups_that_are_not_consent_are_listed_beside_the_ledger(
    client: TestClient, database: Database
) -> None:
    created = client.post("/api/v1/contacts", json={"phone": PHONE}).json()
    client.post(f"/api/v1/contacts/{created['id']}/opt-out", json={"evidence": "asked"})
    form = make_form(database, _list(database))
    policy = _policy(client)
    with database.write() as session:
        # A number that said STOP is always asked to confirm, even by a single opt-in form.
        old = signups.start_signup(session, policy, _request(form), utcnow() - timedelta(days=5))
        pending = signups.start_signup(session, policy, _request(form, double_opt_in=False))
        ids = (pending.id, old.id)
    record = client.get(f"/api/v1/contacts/{created['id']}/consent").json()
    assert (record["marketing"], record["transactional"]) == ("opted_out", False)
    assert [(e["kind"], e["purpose"]) for e in record["ledger"]] == [
        ("opt_in", "marketing"),
        ("opt_out", "all"),
    ]
    # Newest first; the old one is past its time even before the sweep says so.
    assert [(s["id"], s["status"]) for s in record["signups"]] == [
        (ids[0], "pending"),
        (ids[1], "expired"),
    ]
    assert record["pending_signups"] == 1
    assert record["signups"][0]["ip"] == "203.0.113.9"
    assert record["signups"][0]["confirmed_at"] is None


def test_a_contact_created_through_the_api_has_the_api_as_its_source(
    client: TestClient,
) -> None:
    created = client.post(
        "/api/v1/contacts", json={"phone": PHONE, "consent_evidence": "signed at the till"}
    ).json()
    assert created["consent"] == {"marketing": "confirmed", "transactional": True}
    record = client.get(f"/api/v1/contacts/{created['id']}/consent").json()
    assert [
        (e["kind"], e["purpose"], e["source"], e["evidence"], e["signup"]) for e in record["ledger"]
    ] == [("opt_in", "marketing", "api", "signed at the till", None)]


def test_an_imported_contact_s_record_names_the_import_and_who_confirmed_it(
    client: TestClient,
) -> None:
    files = {"file": ("shop.csv", f"phone\n{PHONE}\n".encode(), "text/csv")}
    job = client.post("/api/v1/imports", files=files, data={"consent_confirmed": "true"}).json()
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/imports/{job['id']}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "import"
        time.sleep(0.02)
    contact = client.get("/api/v1/contacts").json()["items"][0]
    record = client.get(f"/api/v1/contacts/{contact['id']}/consent").json()
    [event] = record["ledger"]
    assert (event["source"], event["purpose"], event["signup"]) == (
        f"import:{job['id']}",
        "marketing",
        None,
    )
    assert event["evidence"].startswith("CSV import shop.csv, consent confirmed by admin-")
    assert f"at import {job['id']} on " in event["evidence"]


def test_the_record_downloads_as_json_and_as_csv(client: TestClient, database: Database) -> None:
    contact_id, signup_id, _ = _signed_up(
        client, database, user_agent='=HYPERLINK("https://evil.example","x")'
    )
    path = f"/api/v1/contacts/{contact_id}/consent"
    shown = client.get(path).json()
    as_json = client.get(path, params={"format": "json"})
    assert as_json.headers["content-disposition"] == (
        f'attachment; filename="consent-{contact_id}.json"'
    )
    assert json.loads(as_json.content) == shown
    as_csv = client.get(path, params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == (
        f'attachment; filename="consent-{contact_id}.csv"'
    )
    [row] = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert (row["entry"], row["phone"], row["kind"], row["signup_id"]) == (
        "consent_event",
        "'" + PHONE,  # every cell that a spreadsheet would run is quoted
        "opt_in",
        str(signup_id),
    )
    assert row["user_agent"] == """'=HYPERLINK("https://evil.example","x")"""
    assert row["disclosure"] == DISCLOSURE
    assert json.loads(row["fields"]) == shown["ledger"][0]["signup"]["fields"]
    assert row["confirmed_at"] == shown["ledger"][0]["signup"]["confirmed_at"]
    assert client.get(path, params={"format": "xml"}).status_code == 400


def test_everyone_s_ledger_exports_as_csv_and_json_from_a_moment_on(
    client: TestClient, database: Database
) -> None:
    contact_id, _, _ = _signed_up(client, database)
    other = client.post(
        "/api/v1/contacts", json={"phone": "+12015550124", "consent_evidence": "-1+1"}
    ).json()
    client.post(f"/api/v1/contacts/{other['id']}/opt-out", json={"evidence": "asked"})
    exported = client.get("/api/v1/consent/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == ('attachment; filename="consent-ledger.csv"')
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["contact_id"], r["kind"], r["evidence"]) for r in rows] == [
        (str(contact_id), "opt_in", DISCLOSURE),
        (str(other["id"]), "opt_in", "'-1+1"),
        (str(other["id"]), "opt_out", "asked"),
    ]
    assert rows[2]["by"].startswith("admin-") and rows[0]["ip"] == "203.0.113.9"

    as_json = client.get("/api/v1/consent/export", params={"format": "json"})
    entries = json.loads(as_json.content)
    first = client.get(f"/api/v1/contacts/{contact_id}/consent").json()["ledger"]
    second = client.get(f"/api/v1/contacts/{other['id']}/consent").json()["ledger"]
    assert entries == first + second  # the same shapes as the record's ledger

    latest = entries[-1]["created_at"]
    since = client.get("/api/v1/consent/export", params={"format": "json", "since": latest})
    assert [e["id"] for e in json.loads(since.content)] == [entries[-1]["id"]]
    bad = client.get("/api/v1/consent/export", params={"since": "last week"})
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "query.since"


def test_transactional_consent_is_changed_by_patch_and_kept_in_the_ledger(
    client: TestClient,
) -> None:
    contact = client.post("/api/v1/contacts", json={"phone": PHONE}).json()
    path = f"/api/v1/contacts/{contact['id']}"
    withdrawn = client.patch(path, json={"transactional_consent": False}).json()
    assert withdrawn["consent"] == {"marketing": "confirmed", "transactional": False}
    assert client.patch(path, json={"transactional_consent": False}).status_code == 200
    record = client.get(f"{path}/consent").json()
    assert [(e["kind"], e["purpose"], e["evidence"]) for e in record["ledger"]] == [
        ("opt_in", "marketing", None),
        ("opt_out", "transactional", "transactional consent withdrawn"),  # once: no change
    ]
    audit = client.get("/api/v1/audit", params={"action": "contact.transactional_consent"})
    [entry] = audit.json()["items"]
    assert entry["detail"] == {"consent_event": record["ledger"][1]["id"], "granted": False}
    assert record["ledger"][1]["by"] == entry["actor"]

    client.post(f"{path}/opt-out", json={"evidence": "texted us to stop"})
    refused = client.patch(path, json={"transactional_consent": True})
    assert refused.status_code == 400
    [problem] = refused.json()["problems"]
    assert problem["field"] == "transactional_consent"
    assert "only the person can take that back" in problem["message"]
    assert client.get(path).json()["consent"]["transactional"] is False


def test_a_list_campaign_reaches_no_number_whose_sign_up_is_pending(
    client: TestClient, database: Database
) -> None:
    list_id = _list(database, "Spring")
    subscribed = client.post("/api/v1/contacts", json={"phone": "+12015550100"}).json()
    stopped = client.post("/api/v1/contacts", json={"phone": "+12015550101"}).json()
    client.post(f"/api/v1/contacts/{stopped['id']}/opt-out", json={"evidence": "STOP"})
    members = [subscribed["id"], stopped["id"]]
    client.post(f"/api/v1/lists/{list_id}/members", json={"contact_ids": members})
    form = make_form(database, list_id)
    policy = _policy(client)
    with database.write() as session:
        for phone in ("+12015550101", "+12015550102"):  # unsubscribed, and no contact yet
            signups.start_signup(session, policy, _request(form, phone))
    with database.read() as session:
        statuses = set(session.scalars(select(Signup.status)))
    assert statuses == {SignupStatus.PENDING}

    campaign = client.post(
        "/api/v1/campaigns", json={"name": "Sale", "body": "Sale today!", "lists": [list_id]}
    ).json()
    sent = client.post(f"/api/v1/campaigns/{campaign['id']}/send")
    assert sent.status_code == 202, sent.text
    assert sent.json()["recipient_count"] == 1
    with database.read() as session:
        reached = list(
            session.scalars(select(Message.phone).where(Message.campaign_id == campaign["id"]))
        )
    assert reached == ["+12015550100"]
