"""`/api/v1/contacts`: create, read, update, search, erase, consent and its record."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import consent, consent_exports, consent_records, contacts
from textcast.domain.audience.contacts import ContactDraft, ContactFilter
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import Contact, ContactStatus
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
    transactional_consent: bool | None = Field(
        default=None,
        description="Give or withdraw consent to transactional texts (an order's shipping): "
        "kept in the consent ledger with who changed it. A number that opted out gets it back "
        "only by opting in again.",
    )


class ConsentStateOut(BaseModel):
    marketing: Literal["confirmed", "opted_out", "invalid"] = Field(
        description="`confirmed` (subscribed: the only state marketing texts reach), "
        "`opted_out` or `invalid` (the number cannot receive texts)."
    )
    transactional: bool


class ContactOut(BaseModel):
    id: int
    phone: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    country: str | None
    time_zone: str | None
    status: str
    consent: ConsentStateOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.id,
            phone=contact.phone,
            first_name=contact.first_name,
            last_name=contact.last_name,
            attributes=contact.attributes,
            country=contact.country,
            time_zone=contact.time_zone,
            status=contact.status,
            consent=ConsentStateOut.model_validate(consent_records.consent_state(contact)),
            created_at=contact.created_at,
            updated_at=contact.updated_at,
        )


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


class SignupEvidenceOut(BaseModel):
    """A sign-up (form or keyword) as it was stored, verbatim."""

    id: int
    channel: str = Field(description="`form` or `keyword`.")
    status: str = Field(description="`pending`, `confirmed`, `expired` or `cancelled`.")
    list_id: int | None
    form_id: int | None
    form_name: str | None
    form_slug: str | None
    keyword: str | None = Field(description="The list keyword the person texted.")
    disclosure: str | None = Field(
        description="The exact consent text shown with the form (its version below), or the "
        "keyword text."
    )
    disclosure_version: int | None
    page_url: str | None = Field(description="The form's own URL.")
    referer: str | None = Field(description="The page that showed the form.")
    origin: str | None
    ip: str | None = Field(description="The address the form was submitted from.")
    user_agent: str | None
    language: str | None
    fields: dict[str, Any] = Field(description="What was submitted, as submitted.")
    submitted_at: datetime
    expires_at: datetime | None
    confirmed_at: datetime | None
    confirmation_inbound_id: int | None = Field(description='The reply ("Y") that confirmed.')
    confirmation_received_at: datetime | None
    keyword_inbound_id: int | None = Field(description="The text that carried the keyword.")
    keyword_received_at: datetime | None
    held: str | None = Field(description="Why no confirmation text went out, or why cancelled.")


class ConsentEventOut(BaseModel):
    id: int
    contact_id: int
    phone: str
    kind: str = Field(description="`opt_in` or `opt_out`.")
    purpose: str = Field(
        description="`marketing`, `transactional`, or `all` (STOP and START: every message)."
    )
    source: str = Field(
        description="`api`, `cli`, `keyword` (STOP, START), `import:<id>`, `form:<slug>`, "
        "`keyword:<WORD>`."
    )
    created_at: datetime
    evidence: str | None
    keyword: str | None
    inbound_message_id: int | None = Field(description="The text that made it, if one did.")
    inbound_received_at: datetime | None
    by: str | None = Field(
        default=None,
        description="Who made the change through the API or the dashboard (a user's email, "
        "with the key's prefix for an API key); null for a keyword, a sign-up, an import or "
        "the CLI.",
    )
    signup: SignupEvidenceOut | None = Field(description="The sign-up this consent rests on.")


class ConsentRecordOut(BaseModel):
    contact_id: int
    phone: str
    marketing: Literal["confirmed", "opted_out", "invalid"]
    transactional: bool
    ledger: list[ConsentEventOut] = Field(description="Every consent event, oldest first.")
    pending_signups: int = Field(description="Sign-ups waiting for the person's reply.")
    signups: list[SignupEvidenceOut] = Field(
        description="The number's sign-ups that are not consent (yet): pending, expired or "
        "cancelled, newest first."
    )


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
    contact_id: Id, payload: ContactPatch, runtime: RuntimeDep, principal: Writer
) -> ContactOut:
    changes = payload.model_dump(exclude_unset=True)
    actor = Actor.of(principal)
    return ContactOut.of(audience.update_contact(runtime.database, actor, contact_id, changes))


class ErasedOut(BaseModel):
    messages: int = Field(description="Sent messages whose number was scrubbed.")
    inbound: int
    webhook_events: int
    kept_suppression: bool = Field(description="The number opted out: its keyed hash stays.")
    signups: int = Field(description="The number's sign-ups, deleted with the fields they held.")


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
    response_model=ConsentRecordOut,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "The record as JSON; `format=json` or `format=csv` as a download.",
        }
    },
)
def consent_record(
    contact_id: Id,
    session: ReadSession,
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="Download the record as a file (`Content-Disposition`)."),
    ] = None,
) -> Response | ConsentRecordOut:
    """The contact's consent record for a carrier's audit: marketing and transactional consent,
    every consent event oldest first (who made it; for a sign-up, its evidence in full: the
    disclosure shown, the form, page, Referer, Origin, IP address, user agent, fields, and the
    reply that confirmed it), and the number's sign-ups that are not consent (yet)."""
    record = consent_records.consent_record(session, contact_id)
    if format is None:
        return ConsentRecordOut.model_validate(consent_exports.document(record))
    name = f"consent-{contact_id}.{format}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(consent_exports.record_csv(record), media_type="text/csv", headers=headers)
    return Response(
        consent_exports.record_json(record), media_type="application/json", headers=headers
    )
