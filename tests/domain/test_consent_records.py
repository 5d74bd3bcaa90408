"""The consent ledger read page by page: an export crosses pages without losing or repeating
an event, and the record says where consent stands."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.audience import consent, consent_exports, consent_records, contacts
from textcast.domain.errors import InvalidInput
from textcast.models import ConsentEvent, ContactStatus, utcnow

KEY = b"test-key"


def _contacts(database: Database, count: int) -> list[int]:
    ids = []
    with database.write() as session:
        for phone in numbers(count):
            draft = contacts.ContactDraft(phone, consent_evidence=f"till {phone[-2:]}")
            ids.append(contacts.create_contact(session, draft, "US", "api", KEY).id)
    return ids


def test_the_export_crosses_pages_without_losing_or_repeating_an_event(
    database: Database,
) -> None:
    ids = _contacts(database, 5)
    with database.write() as session:
        consent.opt_out(
            session, KEY, contacts.get_contact(session, ids[2]), consent.Evidence("api")
        )
    pieces = list(consent_exports.ledger_csv(database, page=2))
    assert len(pieces) == 3  # header and two events, two events, two events
    rows = list(csv.DictReader(io.StringIO("".join(pieces))))
    assert [(int(r["contact_id"]), r["kind"]) for r in rows] == [
        *[(i, "opt_in") for i in ids],
        (ids[2], "opt_out"),
    ]
    exported = json.loads(b"".join(consent_exports.ledger_json(database, page=4)))
    assert [e["id"] for e in exported] == [int(r["event_id"]) for r in rows]
    assert json.loads(b"".join(consent_exports.ledger_json(database, utcnow()))) == []


def test_since_keeps_only_the_events_from_that_moment_on(database: Database) -> None:
    ids = _contacts(database, 3)
    long_ago = utcnow() - timedelta(days=30)
    with database.write() as session:
        session.execute(
            update(ConsentEvent)
            .where(ConsentEvent.contact_id != ids[1])
            .values(created_at=long_ago)
        )
    since = utcnow() - timedelta(days=1)
    with database.read() as session:
        found = consent_records.ledger_page(session, since=since)
    assert [e.contact_id for e in found] == [ids[1]]


def test_the_record_says_where_marketing_and_transactional_consent_stand(
    database: Database,
) -> None:
    [contact_id] = _contacts(database, 1)
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        assert consent_records.consent_state(contact) == {
            "marketing": "confirmed",
            "transactional": True,
        }
        consent.set_transactional(session, contact, False, consent.Evidence("api"))
        assert consent.set_transactional(session, contact, False, consent.Evidence("api")) is None
        contact.status = ContactStatus.INVALID
    with database.read() as session:
        record = consent_records.consent_record(session, contact_id)
    assert (record.marketing, record.transactional) == ("invalid", False)
    assert [(e.kind, e.purpose) for e in record.ledger] == [
        ("opt_in", "marketing"),
        ("opt_out", "transactional"),
    ]


def test_only_the_person_takes_back_a_stop_transactional_consent_included(
    database: Database,
) -> None:
    [contact_id] = _contacts(database, 1)
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        consent.opt_out(session, KEY, contact, consent.Evidence("keyword", keyword="STOP"))
        assert contact.transactional_consent is False
        with pytest.raises(InvalidInput) as refused:
            consent.set_transactional(session, contact, True, consent.Evidence("api"))
    assert [p.field for p in refused.value.problems] == ["transactional_consent"]
