"""`/api/v1/lists` and `/api/v1/segments`: who a campaign can target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import lists, segments
from textcast.domain.errors import FieldProblem
from textcast.models import Segment
from textcast.services import audience
from textcast.web.api.ids import Id, IdIn
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
    '`{"match": "all"|"any", "conditions": [{"field", "op", "value"}]}`; fields: country, '
    f"status, list, attributes.<key>; at most {segments.MAX_CONDITIONS} conditions, "
    f"{segments.MAX_VALUES} values in a list, {segments.MAX_TEXT} characters in a value."
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


class SegmentSize(BaseModel):
    contacts: int
    subscribed: int


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
    return SegmentOut.of(audience.create_segment(database, payload.name, payload.rules))


@router.get("/api/v1/segments")
def list_segments(session: ReadSession) -> list[SegmentOut]:
    """Every segment; one whose rules no longer pass is listed with `valid: false` and why."""
    return [
        SegmentOut.of(segment, segments.check_rules(session, segment.rules))
        for segment in segments.list_segments(session)
    ]


@router.patch("/api/v1/segments/{segment_id}", responses=problems(409))
def update_segment(
    segment_id: Id, payload: SegmentChange, database: DatabaseDep, principal: Writer
) -> SegmentOut:
    """A new name, new rules, or both; checked as on creation. Drafts using the segment
    see the change; launched campaigns already have their recipients."""
    updated = audience.update_segment(
        database, Actor.of(principal), segment_id, name=payload.name, rules=payload.rules
    )
    return SegmentOut.of(updated)


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
