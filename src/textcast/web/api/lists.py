"""`/api/v1/lists` and `/api/v1/segments`: who a campaign can target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import lists, segments
from textcast.domain.audience.segment_words import describe
from textcast.domain.errors import FieldProblem
from textcast.models import Segment
from textcast.services import audience
from textcast.web.api.contacts import ContactOut, ContactPage
from textcast.web.api.ids import MAX_ID, Id, IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession
from textcast.web.errors import FieldProblemOut, problems

router = APIRouter(tags=["lists and segments"], dependencies=[guard(Permission.READ)])


class ListIn(Input):
    name: Annotated[str, Field(max_length=lists.MAX_NAME)]


class ListOut(BaseModel):
    id: int
    name: str
    members: int
    created_at: datetime


class MembersIn(Input):
    contact_ids: Annotated[list[IdIn], Field(min_length=1, max_length=10_000)]


class MembersAdded(BaseModel):
    added: int


RULES = (
    '`{"match": "all"|"any", "conditions": [...]}`, each condition either '
    '`{"field", "op", "value"}` or a group `{"match", "conditions"}` (groups nest '
    f"{segments.MAX_DEPTH} deep, the rules counting as the first). Fields and operators: "
    "country (eq, ne, in, not_in; two-letter codes), status (eq, ne; subscribed, "
    "unsubscribed, invalid), list (in, not_in; list ids), first_name and last_name (eq, ne, "
    "contains, exists, not_exists), created_at (before, after; a date such as 2024-05-01, "
    "UTC), attributes.<key> (eq, ne, in, not_in, contains, exists, not_exists compare as "
    "text; gt, lt take a number). At most "
    f"{segments.MAX_CONDITIONS} conditions in all, {segments.MAX_VALUES} values in a list, "
    f"{segments.MAX_TEXT} characters in a value."
)


class SegmentIn(Input):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=segments.MAX_NAME)]
    rules: dict[str, Any] = Field(description=RULES)


class SegmentChange(Input):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(max_length=segments.MAX_NAME)] = None
    rules: dict[str, Any] | None = Field(default=None, description=RULES)


class SegmentOut(BaseModel):
    id: int
    name: str
    rules: dict[str, Any] | None = Field(
        description="As stored; null only for a broken segment whose rules cannot be shown."
    )
    created_at: datetime
    valid: bool = Field(
        default=True,
        description="False for a segment stored by an older version that did not check its "
        "rules as strictly, or naming a list since deleted: it cannot be sized, planned or "
        "sent until its rules are fixed (PATCH).",
    )
    problems: list[FieldProblemOut] = Field(
        default=[], description="Why it is not valid: each rule at fault, and why."
    )
    description: str | None = Field(
        default=None,
        description='The rules in words, as the dashboard shows them ("Subscribed contacts '
        'in France or Canada whose first name is set"); null for a segment that is not valid.',
    )

    @classmethod
    def of(cls, segment: Segment, problems: Sequence[FieldProblem] = ()) -> SegmentOut:
        return cls(
            id=segment.id,
            name=segment.name,
            rules=segments.shown_rules(segment),
            created_at=segment.created_at,
            valid=not problems,
            problems=[FieldProblemOut(field=p.field, message=p.message) for p in problems],
        )

    @classmethod
    def described(cls, session: Session, segment: Segment) -> SegmentOut:
        """With its problems checked now, or its description when it has none."""
        found = segments.check_rules(session, segment.rules)
        out = cls.of(segment, found)
        if not found:
            out.description = describe(session, segment.rules)
        return out


class SegmentSize(BaseModel):
    contacts: int
    subscribed: int


class PreviewIn(Input):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] = Field(description=RULES)


class PreviewOut(BaseModel):
    contacts: int = Field(description="Contacts the rules match now.")
    subscribed: int = Field(description="How many of them can be texted (subscribed).")
    description: str = Field(description="The rules in words.")
    sample: list[ContactOut] = Field(
        description=f"The first {segments.SAMPLE} matching contacts, by id."
    )


@router.post("/api/v1/lists", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_list(payload: ListIn, database: DatabaseDep, _: Writer) -> ListOut:
    created = audience.create_list(database, payload.name)
    return ListOut(id=created.id, name=created.name, members=0, created_at=created.created_at)


@router.get("/api/v1/lists")
def list_lists(session: ReadSession) -> list[ListOut]:
    return [
        ListOut(id=found.id, name=found.name, members=members, created_at=found.created_at)
        for found, members in lists.list_lists(session)
    ]


@router.post("/api/v1/lists/{list_id}/members")
def add_members(list_id: Id, payload: MembersIn, database: DatabaseDep, _: Writer) -> MembersAdded:
    return MembersAdded(added=audience.add_members(database, list_id, payload.contact_ids))


@router.delete(
    "/api/v1/lists/{list_id}/members/{contact_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_member(list_id: Id, contact_id: Id, database: DatabaseDep, _: Writer) -> None:
    audience.remove_member(database, list_id, contact_id)


@router.post("/api/v1/segments", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_segment(payload: SegmentIn, database: DatabaseDep, _: Writer) -> SegmentOut:
    created = audience.create_segment(database, payload.name, payload.rules)
    with database.read() as session:
        return SegmentOut.described(session, created)


@router.get("/api/v1/segments")
def list_segments(session: ReadSession) -> list[SegmentOut]:
    """Every segment; one whose rules no longer pass is listed with `valid: false` and why."""
    return [SegmentOut.described(session, segment) for segment in segments.list_segments(session)]


@router.post("/api/v1/segment-previews", summary="Count the contacts rules would match")
def preview_segment(payload: PreviewIn, session: ReadSession) -> PreviewOut:
    """For rules being edited, saved or not: how many contacts they match now, how many of
    those are subscribed, the rules in words and the first few contacts. Nothing is stored.
    Bad rules answer 400 naming each condition at fault, as saving them would."""
    found = segments.preview(session, payload.rules)
    return PreviewOut(
        contacts=found.contacts,
        subscribed=found.subscribed,
        description=describe(session, payload.rules),
        sample=[ContactOut.of(c) for c in found.sample],
    )


@router.get("/api/v1/segments/{segment_id}", summary="Get a segment")
def get_segment(segment_id: Id, session: ReadSession) -> SegmentOut:
    """The segment with its rules in words; `valid: false` and why for one whose rules no
    longer pass."""
    return SegmentOut.described(session, segments.get_segment(session, segment_id))


@router.get(
    "/api/v1/segments/{segment_id}/contacts",
    summary="List a segment's contacts",
    responses=problems(409),
)
def segment_contacts(
    segment_id: Id,
    session: ReadSession,
    cursor: Annotated[
        int, Query(ge=0, le=MAX_ID, description="The `next_cursor` of the page before.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ContactPage:
    """The contacts the segment matches now, by id, a page at a time (409 for a segment whose
    rules no longer pass)."""
    rows = segments.members(session, segment_id, after_id=cursor, limit=limit)
    return ContactPage(
        items=[ContactOut.of(c) for c in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.patch("/api/v1/segments/{segment_id}", responses=problems(409))
def update_segment(
    segment_id: Id, payload: SegmentChange, database: DatabaseDep, principal: Writer
) -> SegmentOut:
    """A new name, new rules, or both; checked as on creation. Drafts using the segment
    see the change; launched campaigns already have their recipients."""
    updated = audience.update_segment(
        database, Actor.of(principal), segment_id, name=payload.name, rules=payload.rules
    )
    with database.read() as session:
        return SegmentOut.described(session, updated)


@router.delete(
    "/api/v1/segments/{segment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(409),
)
def delete_segment(segment_id: Id, database: DatabaseDep, principal: Writer) -> None:
    """Refused (409, naming them) while draft campaigns use the segment."""
    audience.delete_segment(database, Actor.of(principal), segment_id)


@router.get("/api/v1/segments/{segment_id}/size", responses=problems(409))
def segment_size(segment_id: Id, session: ReadSession) -> SegmentSize:
    """How many contacts match now, and how many of them can be texted (409 for a segment
    whose rules no longer pass)."""
    total, subscribed = segments.segment_size(session, segment_id)
    return SegmentSize(contacts=total, subscribed=subscribed)
