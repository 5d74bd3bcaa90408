"""`/api/v1/inbox`: replies and keywords people sent, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from textcast.domain.accounts.permissions import Permission
from textcast.domain.inbox.inbound import InboxFilter, list_inbound
from textcast.web.api.ids import Id
from textcast.web.auth import guard
from textcast.web.deps import ReadSession

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
