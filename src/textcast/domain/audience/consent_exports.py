"""Consent records as files for a carrier's audit: one contact's, or everyone's ledger streamed
page by page (a large audience never sits in memory), as CSV or JSON.

The CSV has one row per consent event (`entry` = `consent_event`) with its sign-up's evidence
flattened beside it; a contact's file adds a row per sign-up that is not consent (`entry` =
`signup`). Every cell goes through `SpreadsheetWriter`, so a disclosure or a submitted field that
starts like a formula stays text. The JSON has the API's shapes (`document`)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic_core import to_json

from textcast.db import Database
from textcast.domain.audience.consent_records import (
    ConsentRecord,
    LedgerEntry,
    SignupEvidence,
    ledger_page,
)
from textcast.domain.spreadsheets import SpreadsheetWriter

EXPORT_PAGE = 500
EVENT_COLUMNS = (
    "event_id",
    "contact_id",
    "phone",
    "kind",
    "purpose",
    "source",
    "created_at",
    "evidence",
    "keyword",
    "inbound_message_id",
    "inbound_received_at",
    "by",
)
SIGNUP_COLUMNS = (
    "signup_id",
    "signup_channel",
    "signup_status",
    "form_name",
    "form_slug",
    "signup_keyword",
    "disclosure",
    "disclosure_version",
    "page_url",
    "referer",
    "origin",
    "ip",
    "user_agent",
    "language",
    "fields",
    "submitted_at",
    "expires_at",
    "confirmed_at",
    "confirmation_inbound_id",
    "confirmation_received_at",
    "keyword_inbound_id",
    "keyword_received_at",
    "held",
)
CSV_COLUMNS = ("entry", *EVENT_COLUMNS, *SIGNUP_COLUMNS)


def document(value: ConsentRecord | LedgerEntry) -> dict[str, Any]:
    """The record or the event as the API shows it in JSON."""
    return dataclasses.asdict(value)


def record_csv(record: ConsentRecord) -> str:
    buffer = io.StringIO()
    out = SpreadsheetWriter(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    out.writerows(_event_row(entry) for entry in record.ledger)
    out.writerows(_signup_row(record, signup) for signup in record.signups)
    return buffer.getvalue()


def record_json(record: ConsentRecord) -> bytes:
    return to_json(document(record), indent=2) + b"\n"


def ledger_csv(
    database: Database, since: datetime | None = None, *, page: int = EXPORT_PAGE
) -> Iterator[str]:
    """Everyone's consent events, oldest first, one piece of CSV per page."""
    buffer = io.StringIO()
    out = SpreadsheetWriter(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for entries in _pages(database, since, page):
        out.writerows(_event_row(entry) for entry in entries)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def ledger_json(
    database: Database, since: datetime | None = None, *, page: int = EXPORT_PAGE
) -> Iterator[bytes]:
    """Everyone's consent events, oldest first, as one JSON array written page by page."""
    yield b"["
    separator = b"\n"
    for entries in _pages(database, since, page):
        chunk = b",\n".join(to_json(document(entry)) for entry in entries)
        yield separator + chunk
        separator = b",\n"
    yield b"\n]\n"


def _pages(database: Database, since: datetime | None, page: int) -> Iterator[list[LedgerEntry]]:
    # Each page reads in a session of its own: nothing holds a snapshot for as long as the
    # download lasts.
    after = 0
    while True:
        with database.read() as session:
            entries = ledger_page(session, after_id=after, since=since, limit=page)
        if entries:
            yield entries
        if len(entries) < page:
            return
        after = entries[-1].id


def _event_row(entry: LedgerEntry) -> list[object]:
    event = [
        entry.id,
        entry.contact_id,
        entry.phone,
        entry.kind,
        entry.purpose,
        entry.source,
        _moment(entry.created_at),
        entry.evidence,
        entry.keyword,
        entry.inbound_message_id,
        _moment(entry.inbound_received_at),
        entry.by,
    ]
    return ["consent_event", *event, *_signup_cells(entry.signup)]


def _signup_row(record: ConsentRecord, signup: SignupEvidence) -> list[object]:
    event: list[object] = [None] * len(EVENT_COLUMNS)
    event[EVENT_COLUMNS.index("contact_id")] = record.contact_id
    event[EVENT_COLUMNS.index("phone")] = record.phone
    return ["signup", *event, *_signup_cells(signup)]


def _signup_cells(signup: SignupEvidence | None) -> list[object]:
    if signup is None:
        return [None] * len(SIGNUP_COLUMNS)
    return [
        signup.id,
        signup.channel,
        signup.status,
        signup.form_name,
        signup.form_slug,
        signup.keyword,
        signup.disclosure,
        signup.disclosure_version,
        signup.page_url,
        signup.referer,
        signup.origin,
        signup.ip,
        signup.user_agent,
        signup.language,
        json.dumps(signup.fields, ensure_ascii=False, sort_keys=True) if signup.fields else None,
        _moment(signup.submitted_at),
        _moment(signup.expires_at),
        _moment(signup.confirmed_at),
        signup.confirmation_inbound_id,
        _moment(signup.confirmation_received_at),
        signup.keyword_inbound_id,
        _moment(signup.keyword_received_at),
        signup.held,
    ]


def _moment(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, as the JSON has it."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")
