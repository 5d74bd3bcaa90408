"""List hygiene in the API: the numbers a campaign made invalid, and restoring one."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.services import hygiene
from textcast.web.api.contacts import ContactOut
from textcast.web.api.ids import Id
from textcast.web.auth import Writer, guard
from textcast.web.deps import RuntimeDep
from textcast.web.errors import problems

router = APIRouter(tags=["list hygiene"], dependencies=[guard(Permission.READ)])


class InvalidatedOut(BaseModel):
    contact_id: int
    phone: str
    contact_status: str = Field(description="Now: `invalid`, or `subscribed` once restored.")
    reason: str = Field(description="Why, in words, with the last failure's status and code.")
    message_ids: list[int] = Field(description="The failed messages of the streak: the evidence.")
    invalidated_at: datetime
    restored_at: datetime | None
    restored_by: str | None

    @classmethod
    def of(cls, found: hygiene.Invalidated) -> InvalidatedOut:
        invalidation, contact = found.invalidation, found.contact
        return cls(
            contact_id=contact.id,
            phone=contact.phone,
            contact_status=contact.status,
            reason=invalidation.reason,
            message_ids=list(invalidation.message_ids),
            invalidated_at=invalidation.created_at,
            restored_at=invalidation.restored_at,
            restored_by=invalidation.restored_by,
        )


class InvalidationOut(BaseModel):
    campaign_id: int | None = Field(description="The campaign whose failure tipped it over.")
    reason: str
    message_ids: list[int]
    invalidated_at: datetime
    restored_at: datetime | None
    restored_by: str | None


class ContactHygieneOut(BaseModel):
    contact_id: int
    status: str
    failure_streak: int = Field(
        description="Permanent delivery failures in a row so far; a delivery or a text from the "
        "number starts it over."
    )
    failed_message_ids: list[int] = Field(description="The messages of the current streak.")
    invalidations: list[InvalidationOut] = Field(description="Newest first.")


@router.get("/api/v1/contacts/{contact_id}/hygiene")
def contact_hygiene(contact_id: Id, runtime: RuntimeDep) -> ContactHygieneOut:
    """Why a number is invalid, or how close it is: its streak and its invalidations."""
    found = hygiene.contact_hygiene(runtime.database, contact_id)
    contact = found.contact
    return ContactHygieneOut(
        contact_id=contact.id,
        status=contact.status,
        failure_streak=contact.failure_streak,
        failed_message_ids=list(contact.failed_message_ids or []),
        invalidations=[
            InvalidationOut(
                campaign_id=i.campaign_id,
                reason=i.reason,
                message_ids=list(i.message_ids),
                invalidated_at=i.created_at,
                restored_at=i.restored_at,
                restored_by=i.restored_by,
            )
            for i in found.invalidations
        ],
    )


@router.get("/api/v1/campaigns/{campaign_id}/invalidated")
def invalidated(campaign_id: Id, runtime: RuntimeDep) -> list[InvalidatedOut]:
    """The numbers this campaign's permanent failures made invalid (list hygiene), newest
    first: the failure that tipped each one over was a message of this campaign."""
    return [InvalidatedOut.of(i) for i in hygiene.invalidated_by(runtime.database, campaign_id)]


@router.post("/api/v1/contacts/{contact_id}/restore", responses=problems(409))
def restore(contact_id: Id, runtime: RuntimeDep, principal: Writer) -> ContactOut:
    """Subscribed again, after list hygiene made the number invalid: its failure streak starts
    over. 409 for a contact that is not invalid (an opted-out one stays opted out)."""
    contact = hygiene.restore_contact(runtime.database, Actor.of(principal), contact_id)
    return ContactOut.of(contact)
