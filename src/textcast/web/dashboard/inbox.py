"""/inbox: what people texted back; an unknown sender can be saved as a contact."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from textcast.domain.audience import contacts
from textcast.domain.errors import NotFound
from textcast.domain.inbox import conversations
from textcast.domain.inbox.inbound import InboxFilter
from textcast.models import Contact
from textcast.web.api.ids import parse_id
from textcast.web.api.inbox import TEXTED_FIRST
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    principal: PageUser,
    replies_only: str = "",
    campaign_id: str = "",
    contact_id: str = "",
    cursor: str = "",
) -> Response:
    where = InboxFilter(
        contact_id=parse_id(contact_id),
        campaign_id=parse_id(campaign_id),
        replies_only=replies_only in ("1", "on", "true"),
    )
    before = parse_id(cursor)
    with request.app.state.runtime.database.read() as session:
        entries = conversations.list_inbox(session, where, before_id=before, limit=PAGE_SIZE + 1)
        campaigns = conversations.list_campaigns_replied_to(session)
        contact = _contact(session, where.contact_id)
    query = {
        "replies_only": "1" if where.replies_only else None,
        "campaign_id": where.campaign_id,
        "contact_id": where.contact_id,
    }
    kept = {k: v for k, v in query.items() if v is not None}
    return render(
        request,
        "inbox.html",
        principal,
        entries=entries[:PAGE_SIZE],
        filters=where,
        campaigns=campaigns,
        contact=contact,
        texted_first=TEXTED_FIRST,
        filtered=where.replies_only or where.campaign_id is not None,
        first_url="/inbox?" + urlencode(kept) if before else None,
        next_url=(
            "/inbox?" + urlencode({**kept, "cursor": entries[PAGE_SIZE - 1].message.id})
            if len(entries) > PAGE_SIZE
            else None
        ),
    )


def _contact(session: Session, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    try:
        return contacts.get_contact(session, contact_id)
    except NotFound:
        return None
