"""`/api/v1/campaigns/{id}/messages`: a campaign's messages one by one (an A/B test's: its
family's), each with its Sinch code's meaning, its skip reason in words and its cost."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from textcast.domain.accounts.permissions import Permission
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.reporting import messages
from textcast.models import MessageStatus
from textcast.runtime import describe_delivery_code
from textcast.vocabulary import SKIP_REASON_WORDS
from textcast.web.api.ids import MAX_ID, Id
from textcast.web.auth import guard
from textcast.web.deps import ReadSession, RuntimeDep

router = APIRouter(
    prefix="/api/v1/campaigns", tags=["campaigns"], dependencies=[guard(Permission.READ)]
)


class MessageOut(BaseModel):
    id: int
    phone: str
    status: str
    status_code: int | None = Field(description="Sinch's delivery code, once reported.")
    code_name: str | None = Field(
        description="What the code means in Sinch's table; `Refused` when Sinch's API refused "
        "the batch."
    )
    code_description: str | None
    error: str | None = Field(
        description="Why it failed, or a skipped message's reason code (`opted_out`...)."
    )
    reason: str | None = Field(description="A skipped message's reason, in words.")
    missing_fields: list[str] = Field(
        description="For `missing_merge_field`: the merge fields its contact has no value for."
    )
    parts: int
    cost: float | None = Field(
        description="Its parts priced by the price table, for a message sent (see "
        "`figures.spent`); null otherwise."
    )
    batch_id: str | None
    sent_at: datetime | None = Field(description="When Sinch took it.")
    updated_at: datetime
    variant: str | None = Field(
        description="The A/B test's part it belongs to (`A`..`E`, or `rest`); null otherwise."
    )

    @classmethod
    def of(cls, row: messages.MessageRow) -> MessageOut:
        return cls.model_validate(row, from_attributes=True)


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


@router.get("/{campaign_id}/messages")
def list_messages(
    campaign_id: Id,
    session: ReadSession,
    runtime: RuntimeDep,
    status: Annotated[MessageStatus | None, Query(description="Only this status.")] = None,
    reason: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Only messages skipped for this reason: "
            + ", ".join(SKIP_REASON_WORDS)
            + " (`unspecified`: none recorded).",
        ),
    ] = None,
    number: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Only numbers containing these digits (spaces, `+`, dashes ignored).",
        ),
    ] = None,
    cursor: Annotated[
        int, Query(ge=0, le=MAX_ID, description="`next_cursor` of the previous page.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MessagePage:
    """The campaign's messages in id order, each with its code's meaning and its cost.

    400 for a `reason` that is not a skip reason."""
    if reason is not None and reason not in SKIP_REASON_WORDS:
        known = ", ".join(SKIP_REASON_WORDS)
        raise InvalidInput(
            [FieldProblem("reason", f"not a skip reason; use one of: {known}", reason)]
        )
    rows = messages.message_rows(
        session,
        campaign_id,
        describe_delivery_code,
        runtime.policy.prices,
        messages.MessageFilter(status=status, reason=reason, number=number),
        after_id=cursor,
        limit=limit,
    )
    return MessagePage(
        items=[MessageOut.of(row) for row in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
