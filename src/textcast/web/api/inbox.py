"""`/api/v1/inbox`: replies and keywords people sent, newest first; an unknown sender saved as a
contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience.contacts import MAX_NAME, ContactDraft
from textcast.domain.inbox.inbound import InboxFilter, list_inbound
from textcast.services import audience
from textcast.web.api.contacts import ContactOut
from textcast.web.api.ids import Id
from textcast.web.api.inputs import Input
from textcast.web.auth import Writer, guard
from textcast.web.deps import ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"], dependencies=[guard(Permission.READ)])


class InboundOut(BaseModel):
    id: int
    from_phone: str
    to: str
    body: str
    keyword: str | None
    contact_id: int | None
    campaign_id: int | None
    received_at: datetime


class InboxPage(BaseModel):
    items: list[InboundOut]
    next_cursor: int | None


@router.get("")
def inbox(
    session: ReadSession,
    contact_id: Id | None = None,
    campaign_id: Id | None = None,
    replies_only: bool = False,
    cursor: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InboxPage:
    where = InboxFilter(contact_id=contact_id, campaign_id=campaign_id, replies_only=replies_only)
    rows = list_inbound(session, where, before_id=cursor, limit=limit)
    return InboxPage(
        items=[InboundOut.model_validate(m, from_attributes=True) for m in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


TEXTED_FIRST = "Texted us first"


class SenderIn(Input):
    first_name: Annotated[str | None, Field(max_length=MAX_NAME)] = None
    last_name: Annotated[str | None, Field(max_length=MAX_NAME)] = None
    consent_evidence: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        default=TEXTED_FIRST,
        description="How this person agreed to receive messages (kept in the consent ledger).",
    )


@router.post("/{inbound_id}/contact", status_code=status.HTTP_201_CREATED, responses=problems(409))
def save_sender(inbound_id: Id, payload: SenderIn, runtime: RuntimeDep, _: Writer) -> ContactOut:
    """Save the unknown number that sent this text as a contact, subscribed with the consent
    evidence given (a number that once texted STOP stays unsubscribed). The number's texts
    become the contact's. 409 when the sender is a contact already."""
    draft = ContactDraft(
        phone="",
        first_name=payload.first_name or None,
        last_name=payload.last_name or None,
        consent_evidence=payload.consent_evidence,
    )
    contact = audience.save_sender(
        runtime.database,
        runtime.secret,
        inbound_id,
        draft,
        default_region=runtime.settings.default_region,
    )
    return ContactOut.of(contact)
