"""`/api/v1/lists` and `/api/v1/segments`: who a campaign can target."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from textcast.domain import lists, segments
from textcast.domain.permissions import Permission
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession
from textcast.web.errors import problems

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


class SegmentIn(Input):
    name: Annotated[str, Field(max_length=200)]
    rules: dict[str, Any] = Field(
        description='`{"match": "all"|"any", "conditions": [{"field", "op", "value"}]}`; '
        "fields: country, status, list, attributes.<key>."
    )


class SegmentOut(BaseModel):
    id: int
    name: str
    rules: dict[str, Any]
    created_at: datetime


class SegmentSize(BaseModel):
    contacts: int
    subscribed: int


@router.post("/api/v1/lists", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_list(payload: ListIn, database: DatabaseDep, _: Writer) -> ListOut:
    with database.write() as session:
        created = lists.create_list(session, payload.name)
    return ListOut(id=created.id, name=created.name, members=0, created_at=created.created_at)


@router.get("/api/v1/lists")
def list_lists(session: ReadSession) -> list[ListOut]:
    return [
        ListOut(id=found.id, name=found.name, members=members, created_at=found.created_at)
        for found, members in lists.list_lists(session)
    ]


@router.post("/api/v1/lists/{list_id}/members")
def add_members(list_id: Id, payload: MembersIn, database: DatabaseDep, _: Writer) -> MembersAdded:
    with database.write() as session:
        return MembersAdded(added=lists.add_members(session, list_id, payload.contact_ids))


@router.delete(
    "/api/v1/lists/{list_id}/members/{contact_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_member(list_id: Id, contact_id: Id, database: DatabaseDep, _: Writer) -> None:
    with database.write() as session:
        lists.remove_member(session, list_id, contact_id)


@router.post("/api/v1/segments", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_segment(payload: SegmentIn, database: DatabaseDep, _: Writer) -> SegmentOut:
    with database.write() as session:
        segment = segments.create_segment(session, payload.name, payload.rules)
    return SegmentOut.model_validate(segment, from_attributes=True)


@router.get("/api/v1/segments")
def list_segments(session: ReadSession) -> list[SegmentOut]:
    return [
        SegmentOut.model_validate(s, from_attributes=True) for s in segments.list_segments(session)
    ]


@router.get("/api/v1/segments/{segment_id}/size")
def segment_size(segment_id: Id, session: ReadSession) -> SegmentSize:
    """How many contacts match now, and how many of them can be texted."""
    total, subscribed = segments.segment_size(session, segment_id)
    return SegmentSize(contacts=total, subscribed=subscribed)
