"""/inbox: the conversations, one thread per number, with tabs (open, needs reply, unread,
closed, mine) whose counts agree with their lists; /inbox/updates: the same list as the page
polls it (static/conversations.js); /inbox/texts: every text received, filtered by contact
and campaign, where an unknown sender can be saved as a contact."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from textcast.domain.accounts.permissions import Principal
from textcast.domain.audience import contacts
from textcast.domain.errors import NotFound
from textcast.domain.inbox import conversations, threads
from textcast.domain.inbox.inbound import InboxFilter
from textcast.domain.inbox.threads import ConversationEntry, ConversationFilter
from textcast.models import Contact, ConversationState
from textcast.web.api.ids import parse_id
from textcast.web.api.inbox import TEXTED_FIRST
from textcast.web.dashboard.shell import PageUser, render, render_fragment

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Tab:
    key: str
    label: str


TABS = (
    Tab("open", "Open"),
    Tab("needs_reply", "Needs reply"),
    Tab("unread", "Unread"),
    Tab("closed", "Closed"),
    Tab("mine", "Mine"),
)
TAB_KEYS = frozenset(tab.key for tab in TABS)


def tab_filter(show: str, principal: Principal) -> ConversationFilter:
    """Each tab's list: the same conditions `count_conversations` counts."""
    if show == "needs_reply":
        return ConversationFilter(needs_reply=True)
    if show == "unread":
        return ConversationFilter(unread=True)
    if show == "closed":
        return ConversationFilter(state=ConversationState.CLOSED)
    if show == "mine":
        return ConversationFilter(assignee_id=principal.user_id)
    return ConversationFilter(state=ConversationState.OPEN)


def encode_cursor(entry: ConversationEntry) -> str:
    return f"{entry.conversation.last_message_at.isoformat()}~{entry.conversation.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """A page's cursor; anything else starts from the newest (a stale or edited link)."""
    at, _, ident = cursor.partition("~")
    number = parse_id(ident)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if number is None or moment.tzinfo is None:
        return None
    return moment, number


@dataclass(frozen=True, slots=True)
class Listing:
    show: str
    cursor: str
    entries: list[ConversationEntry]
    counts: dict[str, int]
    unread: int
    first_url: str | None
    next_url: str | None

    @property
    def version(self) -> str:
        """Changes whenever a row or a count on the page would."""
        parts = [repr(sorted(self.counts.items()))] + [
            f"{e.conversation.id}:{e.conversation.last_message_at.isoformat()}:"
            f"{e.conversation.unread}:{e.conversation.needs_reply}:{e.conversation.state}:"
            f"{e.conversation.assignee_id}"
            for e in self.entries
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _listing(request: Request, principal: Principal, show: str, cursor: str) -> Listing:
    show = show if show in TAB_KEYS else "open"
    before = decode_cursor(cursor) if cursor else None
    with request.app.state.runtime.database.read() as session:
        entries = threads.list_conversations(
            session, tab_filter(show, principal), before=before, limit=PAGE_SIZE + 1
        )
        counts = threads.count_conversations(session, assignee_id=principal.user_id)
        unread = threads.unread_conversations(session)
    kept = {"show": show} if show != "open" else {}
    return Listing(
        show,
        cursor if before else "",
        entries[:PAGE_SIZE],
        counts,
        unread,
        "/inbox?" + urlencode(kept) if before else None,
        (
            "/inbox?" + urlencode({**kept, "cursor": encode_cursor(entries[PAGE_SIZE - 1])})
            if len(entries) > PAGE_SIZE
            else None
        ),
    )


def _list_context(listing: Listing) -> dict[str, Any]:
    return {"listing": listing, "tabs": TABS}


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, principal: PageUser, show: str = "open", cursor: str = "") -> Response:
    listing = _listing(request, principal, show, cursor)
    return render(request, "inbox.html", principal, **_list_context(listing))


@router.get("/inbox/updates")
def inbox_updates(
    request: Request, principal: PageUser, show: str = "open", cursor: str = "", version: str = ""
) -> JSONResponse:
    """What the list page polls: the unread badge, the tabs' counts, and the rows again
    when anything on the page changed."""
    listing = _listing(request, principal, show, cursor)
    answer: dict[str, Any] = {
        "unread": listing.unread,
        "counts": listing.counts,
        "version": listing.version,
    }
    if version != listing.version:
        answer["html"] = render_fragment(
            "conversation_table.html", principal, **_list_context(listing)
        )
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/inbox/texts", response_class=HTMLResponse)
def inbox_texts(
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
        "inbox_texts.html",
        principal,
        entries=entries[:PAGE_SIZE],
        filters=where,
        campaigns=campaigns,
        contact=contact,
        texted_first=TEXTED_FIRST,
        filtered=where.replies_only or where.campaign_id is not None,
        first_url="/inbox/texts?" + urlencode(kept) if before else None,
        next_url=(
            "/inbox/texts?" + urlencode({**kept, "cursor": entries[PAGE_SIZE - 1].message.id})
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
