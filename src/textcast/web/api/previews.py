"""`/api/v1/previews`: a campaign text as one contact would receive it, before saving."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from textcast.domain import campaigns
from textcast.domain.accounts.permissions import Permission
from textcast.domain.campaigns import previews
from textcast.domain.content.encoding import Encoding
from textcast.web.api.ids import IdIn
from textcast.web.auth import guard
from textcast.web.deps import RuntimeDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/previews", tags=["campaigns"], dependencies=[guard(Permission.READ)]
)


class PreviewIn(BaseModel):
    body: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)]
    contact_id: IdIn | None = Field(
        default=None,
        description="Render for this contact; without one, for a sample contact (Alex Morgan) "
        'with a value for every merge field the body uses ("sample value" for attributes).',
    )
    # Strict, as ids in bodies are: `0` or `"yes"` is a 400, not a guess.
    smart_encoding: bool = Field(
        default=False,
        strict=True,
        description="As the campaign option: replacements applied first.",
    )


class PreviewContactOut(BaseModel):
    id: int
    phone: str
    first_name: str | None
    last_name: str | None
    status: str = Field(description="An unsubscribed or invalid contact is left out at send.")


class PreviewOut(BaseModel):
    text: str = Field(
        description="What the contact receives; a field without value or default is empty."
    )
    encoding: Encoding
    length: int = Field(description="GSM-7 septets (extension characters count 2) or UCS-2 units.")
    parts: int
    fields: list[str] = Field(description="The merge fields the body uses.")
    missing: list[str] = Field(
        description="Fields with neither a value for this contact nor a default: the contact "
        "would be skipped (missing_merge_field). Without a contact: fields without a default."
    )
    contact: PreviewContactOut | None
    sample: dict[str, str] | None = Field(
        description="Without a contact: the sample contact's value of each merge field used."
    )

    @classmethod
    def of(cls, found: previews.Preview) -> PreviewOut:
        contact = found.contact
        return cls(
            text=found.text,
            encoding=found.encoding,
            length=found.length,
            parts=found.parts,
            fields=list(found.fields),
            missing=list(found.missing),
            contact=None
            if contact is None
            else PreviewContactOut.model_validate(contact, from_attributes=True),
            sample=found.sample,
        )


@router.post("", responses=problems(404))
def preview_text(payload: PreviewIn, runtime: RuntimeDep) -> PreviewOut:
    """Merge fields are checked as at campaign creation: an unknown one is a 400 naming it and
    where it is; a contact that does not exist is a 404. Nothing is written."""
    with runtime.database.read() as session:
        found = previews.preview(
            session,
            payload.body,
            contact_id=payload.contact_id,
            smart_encoding=payload.smart_encoding,
            short_link_base=runtime.policy.short_link_base,
        )
        return PreviewOut.of(found)
