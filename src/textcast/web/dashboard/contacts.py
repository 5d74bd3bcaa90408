"""/contacts, a contact, CSV imports, lists and segments.

Query strings are read leniently: a page answers a bad filter with a note, not a JSON error.
"""

from __future__ import annotations

import functools
import zoneinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain import flows
from textcast.domain.accounts.permissions import Principal
from textcast.domain.audience import (
    consent,
    consent_records,
    contacts,
    hygiene,
    lists,
    segments,
)
from textcast.domain.audience.attributes import MAX_ATTRIBUTES, MAX_KEY_CHARS, MAX_VALUE_CHARS
from textcast.domain.audience.contacts import ContactFilter
from textcast.domain.audience.segment_words import describe
from textcast.domain.imports import jobs as imports
from textcast.domain.inbox import conversations, threads
from textcast.models import ContactStatus, ImportJob, ImportRejection, ImportStatus
from textcast.web.api.ids import parse_id
from textcast.web.dashboard.flows import RUN_WORDS
from textcast.web.dashboard.shell import PageUser, page_id, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
HISTORY_LIMIT = 50
"""Messages each way shown on a contact's page, newest first."""
MAX_SEARCH = 100


@router.get("/contacts", response_class=HTMLResponse)
def contact_list(
    request: Request,
    principal: PageUser,
    search: str = "",
    status: str = "",
    country: str = "",
    list_id: str = "",
    cursor: str = "",
) -> Response:
    notes: list[str] = []
    where = ContactFilter(
        search=search.strip()[:MAX_SEARCH] or None,
        status=_status(status, notes),
        country=_country(country, notes),
        list_id=_id(list_id, "list", notes),
    )
    after = _id(cursor, "page", notes) or 0
    with request.app.state.runtime.database.read() as session:
        rows = contacts.list_contacts(session, where, after_id=after, limit=PAGE_SIZE + 1)
        total = contacts.count_contacts(session, where)
        all_lists = lists.list_lists(session)
    shown = {
        "search": where.search,
        "status": where.status,
        "country": where.country,
        "list_id": where.list_id,
    }
    query = {k: v for k, v in shown.items() if v is not None}
    return render(
        request,
        "contacts.html",
        principal,
        contacts=rows[:PAGE_SIZE],
        total=total,
        filters=shown,
        filtered=bool(query),
        notes=notes,
        statuses=list(ContactStatus),
        lists=all_lists,
        first_url="/contacts?" + urlencode(query) if after else None,
        next_url=(
            "/contacts?" + urlencode({**query, "cursor": rows[PAGE_SIZE - 1].id})
            if len(rows) > PAGE_SIZE
            else None
        ),
    )


@router.get("/contacts/{contact_id:int}", response_class=HTMLResponse)
def contact_detail(request: Request, principal: PageUser, contact_id: int) -> Response:
    with request.app.state.runtime.database.read() as session:
        contact = contacts.get_contact(session, page_id(contact_id, "contact"))
        history = list(reversed(consent.history(session, contact.id)))
        authors = consent.authors(session, contact.id)
        record = consent_records.consent_record(session, contact.id)
        memberships = contacts.list_memberships(session, contact.id)
        all_lists = [found for found, _ in lists.list_lists(session)]
        sent = conversations.list_sent_to(session, contact.phone, limit=HISTORY_LIMIT)
        received = conversations.list_received_from(session, contact.phone, limit=HISTORY_LIMIT)
        invalidation = hygiene.latest_invalidation(session, contact.id)
        runs = flows.list_runs(session, contact_id=contact.id, limit=HISTORY_LIMIT)
        thread = threads.find_conversation(session, contact.phone)
    return render(
        request,
        "contact.html",
        principal,
        thread=thread,
        contact=contact,
        invalidation=invalidation,
        consent_events=history,
        authors=authors,
        record=record,
        signed_up=[e for e in reversed(record.ledger) if e.signup is not None],
        memberships=memberships,
        other_lists=[found for found in all_lists if found not in memberships],
        time_zones=time_zones(),
        max_attributes=MAX_ATTRIBUTES,
        max_key_chars=MAX_KEY_CHARS,
        max_value_chars=MAX_VALUE_CHARS,
        max_name=contacts.MAX_NAME,
        sent=sent,
        received=received,
        history_limit=HISTORY_LIMIT,
        runs=runs,
        run_words=RUN_WORDS,
    )


@router.get("/contacts/import", response_class=HTMLResponse)
def import_form(request: Request, principal: PageUser) -> Response:
    return _import_page(request, principal, None)


@router.get("/contacts/imports/{import_id:int}", response_class=HTMLResponse)
def import_detail(request: Request, principal: PageUser, import_id: int) -> Response:
    return _import_page(request, principal, import_id)


def _import_page(request: Request, principal: Principal, import_id: int | None) -> Response:
    job: ImportJob | None = None
    rejections: list[ImportRejection] = []
    runtime = request.app.state.runtime
    with runtime.database.read() as session:
        if import_id is not None:
            job = imports.get_import(session, page_id(import_id, "import"))
            if job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED):
                rejections = imports.first_rejections(session, job.id)
        recent = imports.recent_imports(session, limit=20)
        all_lists = lists.list_lists(session)
    return render(
        request,
        "import.html",
        principal,
        job=job,
        finished=job is not None and job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED),
        rejections=rejections,
        recent=recent,
        lists=all_lists,
        default_region=runtime.settings.default_region,
    )


@router.get("/contacts/lists", response_class=HTMLResponse)
def lists_and_segments(request: Request, principal: PageUser) -> Response:
    with request.app.state.runtime.database.read() as session:
        all_lists = lists.list_lists(session)
        sized = segments.sized_segments(session)
        words = {s.segment.id: describe(session, s.segment.rules) for s in sized if not s.problems}
    return render(request, "lists.html", principal, lists=all_lists, segments=sized, words=words)


@functools.cache
def time_zones() -> list[str]:
    """The IANA time zones a contact can be given, by name (the legacy aliases left out)."""
    legacy = ("Etc/", "SystemV/", "US/", "posix", "right/")
    zones = (n for n in zoneinfo.available_timezones() if "/" in n and not n.startswith(legacy))
    return [*sorted(zones), "UTC"]


def _status(value: str, notes: list[str]) -> ContactStatus | None:
    if not value:
        return None
    try:
        return ContactStatus(value)
    except ValueError:
        notes.append("Unknown status ignored.")
        return None


def _country(value: str, notes: list[str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    notes.append("Country ignored: use a two-letter code such as FR or US.")
    return None


def _id(value: str, what: str, notes: list[str]) -> int | None:
    if not value:
        return None
    if (found := parse_id(value)) is not None:
        return found
    notes.append(f"Unknown {what} ignored.")
    return None
