"""`/api/v1/contacts`: create, read, update, search, consent."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import consent, contacts
from textcast.domain.audience.contacts import ContactDraft, ContactFilter
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.spreadsheets import SpreadsheetWriter
from textcast.models import ConsentEvent, Contact, ContactStatus
from textcast.services import audience
from textcast.web.api.ids import MAX_ID, Id
from textcast.web.api.inputs import Input, NoNul
from textcast.web.auth import Writer, guard
from textcast.web.deps import ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/contacts", tags=["contacts"], dependencies=[guard(Permission.READ)]
)

Name = Annotated[str | None, Field(max_length=contacts.MAX_NAME)]
Attributes = dict[str, str | int | float | bool | None]


class ContactIn(Input):
    phone: Annotated[str, Field(max_length=40, description="E.164 or national (DEFAULT_REGION).")]
    first_name: Name = None
    last_name: Name = None
    attributes: Attributes = Field(default_factory=dict)
    country: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    time_zone: Annotated[str | None, Field(max_length=64)] = None
    consent_evidence: Annotated[str | None, Field(max_length=2000)] = Field(
        default=None, description="How this person agreed to receive messages."
    )


class ContactPatch(Input):
    first_name: Name = None
    last_name: Name = None
    attributes: Attributes | None = Field(default=None, description="Merged; null removes a key.")
    country: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    time_zone: Annotated[str | None, Field(max_length=64)] = None


class ContactOut(BaseModel):
    id: int
    phone: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    country: str | None
    time_zone: str | None
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls.model_validate(contact, from_attributes=True)


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: int | None
    total: int | None = Field(
        default=None,
        description="With `include_total=true`: the contacts matching the filters, on every "
        "page together; null otherwise.",
    )


class ConsentIn(Input):
    evidence: Annotated[str | None, Field(max_length=2000)] = Field(
        default=None, description="Why, or how the person asked: kept in the consent ledger."
    )


class ConsentEventOut(BaseModel):
    id: int
    kind: str
    source: str
    evidence: str | None
    keyword: str | None
    inbound_message_id: int | None
    created_at: datetime
    by: str | None = Field(
        default=None,
        description="Who made the change through the API or the dashboard (a user's email, "
        "with the key's prefix for an API key); null for a keyword, an import or the CLI.",
    )

    @classmethod
    def of(cls, event: ConsentEvent, by: str | None = None) -> ConsentEventOut:
        out = cls.model_validate(event, from_attributes=True)
        out.by = by
        return out


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_contact(payload: ContactIn, runtime: RuntimeDep, _: Writer) -> ContactOut:
    contact = audience.create_contact(
        runtime.database,
        runtime.secret,
        ContactDraft(**payload.model_dump()),
        default_region=runtime.settings.default_region,
        source="api",
    )
    return ContactOut.of(contact)


@router.get("")
def list_contacts(
    session: ReadSession,
    search: Annotated[
        str | None, Query(max_length=100, description="Number or name."), NoNul
    ] = None,
    status: ContactStatus | None = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    list_id: Id | None = None,
    cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include_total: Annotated[
        bool, Query(description="Also count every contact matching the filters (`total`).")
    ] = False,
) -> ContactPage:
    where = ContactFilter(search=search, status=status, country=country, list_id=list_id)
    rows = contacts.list_contacts(session, where, after_id=cursor, limit=limit)
    return ContactPage(
        items=[ContactOut.of(c) for c in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
        total=contacts.count_contacts(session, where) if include_total else None,
    )


@router.get("/{contact_id}")
def get_contact(contact_id: Id, session: ReadSession) -> ContactOut:
    return ContactOut.of(contacts.get_contact(session, contact_id))


@router.patch("/{contact_id}")
def update_contact(
    contact_id: Id, payload: ContactPatch, runtime: RuntimeDep, _: Writer
) -> ContactOut:
    changes = payload.model_dump(exclude_unset=True)
    return ContactOut.of(audience.update_contact(runtime.database, contact_id, changes))


class ErasedOut(BaseModel):
    messages: int = Field(description="Sent messages whose number was scrubbed.")
    inbound: int
    webhook_events: int
    kept_suppression: bool = Field(description="The number opted out: its keyed hash stays.")


@router.delete("/{contact_id}")
def erase_contact(
    contact_id: Id,
    runtime: RuntimeDep,
    principal: Writer,
    erase: Annotated[
        bool, Query(description="Must be true: deleting a contact erases it.")
    ] = False,
) -> ErasedOut:
    """Erase the contact's personal data everywhere (messages, replies, stored callbacks)."""
    if not erase:
        raise InvalidInput(
            [FieldProblem("erase", "pass erase=true: this removes the person's data everywhere")]
        )
    erased = audience.erase_contact(
        runtime.database, Actor.of(principal), runtime.secret, contact_id
    )
    return ErasedOut(**dataclasses.asdict(erased))


@router.post("/{contact_id}/opt-out")
def opt_out(
    contact_id: Id, payload: ConsentIn, runtime: RuntimeDep, principal: Writer
) -> ContactOut:
    """Unsubscribe now: queued messages of running campaigns are skipped too. The consent
    ledger keeps the reason (`evidence`) and who did it."""
    evidence = consent.Evidence("api", payload.evidence)
    return ContactOut.of(
        audience.opt_out(
            runtime.database, Actor.of(principal), runtime.secret, contact_id, evidence
        )
    )


@router.post("/{contact_id}/opt-in")
def opt_in(
    contact_id: Id, payload: ConsentIn, runtime: RuntimeDep, principal: Writer
) -> ContactOut:
    """Subscribe again; the consent ledger keeps the evidence and who recorded it."""
    evidence = consent.Evidence("api", payload.evidence)
    return ContactOut.of(
        audience.opt_in(runtime.database, Actor.of(principal), runtime.secret, contact_id, evidence)
    )


@router.get(
    "/{contact_id}/consent",
    response_model=list[ConsentEventOut],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (`format=csv`)."}},
)
def consent_history(
    contact_id: Id, session: ReadSession, format: Literal["json", "csv"] = "json"
) -> Response | list[ConsentEventOut]:
    """The consent ledger of one number, oldest first, as JSON or CSV."""
    contact = contacts.get_contact(session, contact_id)
    by = consent.authors(session, contact_id)
    events = [ConsentEventOut.of(e, by.get(e.id)) for e in consent.history(session, contact_id)]
    if format == "json":
        return events
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerow(["phone", *ConsentEventOut.model_fields])
    for event in events:
        writer.writerow([contact.phone, *event.model_dump(mode="json").values()])
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="consent-{contact_id}.csv"'},
    )
