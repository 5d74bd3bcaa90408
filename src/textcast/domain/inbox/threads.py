"""Conversations: one thread per number, what the inbox lists, and each thread's messages both
ways.

A text from a person opens the thread (again) and counts as unread until someone opens it;
a reply (not a keyword) also marks it "needs reply" until an agent answers. The messages stay
where they are (`messages` out, `inbound_messages` in): a thread reads them by number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, case, func, or_, select
from sqlalchemy.orm import Session

from textcast.db import upserting_insert
from textcast.domain.content.rendering import outgoing
from textcast.domain.content.templates import TemplateError
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.domain.inbox.keywords import Keyword
from textcast.models import (
    AgentReply,
    Campaign,
    Contact,
    Conversation,
    ConversationState,
    InboundMessage,
    Message,
    User,
    utcnow,
)

CONVERSATIONS = cast(Table, Conversation.__table__)
MAX_NOTE = 4000


def note_inbound(session: Session, message: InboundMessage, keyword: Keyword | None) -> None:
    """Bring the sender's thread up to date with a text just received (in its transaction).

    A reply opens the thread, counts as unread and needs an answer; a keyword (STOP, HELP, a
    list's word...) is answered automatically: it only moves the thread to the top, and a
    STOP means no answer can be sent any more."""
    now = utcnow()
    is_reply = keyword is None
    received = message.received_at
    insert = upserting_insert(session, Conversation).values(
        phone=message.from_phone,
        contact_id=message.contact_id,
        state=ConversationState.OPEN,
        unread=1 if is_reply else 0,
        needs_reply=is_reply,
        last_message_at=received,
        last_inbound_at=received,
        created_at=now,
        updated_at=now,
    )
    table = CONVERSATIONS.c
    latest = case((table.last_message_at > received, table.last_message_at), else_=received)
    changes: dict[str, object] = {
        "contact_id": func.coalesce(insert.excluded.contact_id, table.contact_id),
        "last_message_at": latest,
        "last_inbound_at": received,
        "updated_at": now,
    }
    if is_reply:
        changes |= {
            "state": ConversationState.OPEN.value,
            "unread": table.unread + 1,
            "needs_reply": True,
        }
    elif keyword is Keyword.OPT_OUT:
        changes["needs_reply"] = False
    session.execute(insert.on_conflict_do_update(index_elements=["phone"], set_=changes))


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    state: ConversationState | None = None
    unread: bool = False
    needs_reply: bool = False
    assignee_id: int | None = None
    unassigned: bool = False


@dataclass(frozen=True, slots=True)
class ConversationEntry:
    conversation: Conversation
    contact: Contact | None
    """Found by number: a contact saved after the first text has its thread too."""
    assignee: User | None
    last_text: str | None
    """The person's latest text, for the list's preview."""


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation", conversation_id)
    return conversation


def find_conversation(session: Session, phone: str) -> Conversation | None:
    return session.scalars(select(Conversation).where(Conversation.phone == phone)).first()


def conversation_entry(session: Session, conversation_id: int) -> ConversationEntry:
    """One thread as the list shows it: its contact, assignee and the person's latest text."""
    row = session.execute(
        select(Conversation, Contact, User)
        .outerjoin(Contact, Contact.phone == Conversation.phone)
        .outerjoin(User, User.id == Conversation.assignee_id)
        .where(Conversation.id == conversation_id)
    ).first()
    if row is None:
        raise NotFound("conversation", conversation_id)
    conversation, contact, user = row
    preview = _last_texts(session, [conversation.phone]).get(conversation.phone)
    return ConversationEntry(conversation, contact, user, preview)


def list_conversations(
    session: Session,
    where: ConversationFilter,
    *,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[ConversationEntry]:
    """Threads, the latest message first; `before`: the (last_message_at, id) of the last
    entry of the previous page."""
    query = (
        select(Conversation, Contact, User)
        .outerjoin(Contact, Contact.phone == Conversation.phone)
        .outerjoin(User, User.id == Conversation.assignee_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if where.state is not None:
        query = query.where(Conversation.state == where.state)
    if where.unread:
        query = query.where(Conversation.unread > 0)
    if where.needs_reply:
        query = query.where(Conversation.needs_reply.is_(True))
    if where.assignee_id is not None:
        query = query.where(Conversation.assignee_id == where.assignee_id)
    if where.unassigned:
        query = query.where(Conversation.assignee_id.is_(None))
    if before is not None:
        at, id_ = before
        query = query.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < id_),
            )
        )
    rows = session.execute(query).all()
    previews = _last_texts(session, [c.phone for c, _, _ in rows])
    return [
        ConversationEntry(conversation, contact, user, previews.get(conversation.phone))
        for conversation, contact, user in rows
    ]


def _last_texts(session: Session, phones: list[str]) -> dict[str, str]:
    if not phones:
        return {}
    latest = (
        select(func.max(InboundMessage.id))
        .where(InboundMessage.from_phone.in_(phones))
        .group_by(InboundMessage.from_phone)
        .scalar_subquery()
    )
    rows = session.execute(
        select(InboundMessage.from_phone, InboundMessage.body).where(InboundMessage.id.in_(latest))
    )
    return {phone: body for phone, body in rows}


def unread_conversations(session: Session) -> int:
    """Threads with a text nobody has opened yet: the navigation's badge."""
    return (
        session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.unread > 0)
        )
        or 0
    )


def count_conversations(session: Session, *, assignee_id: int | None = None) -> dict[str, int]:
    """The inbox's tabs: open, closed, unread, needs reply (from the same table as the list),
    and with `assignee_id`, `mine`: the threads assigned to that user."""
    row = session.execute(
        select(
            func.count().filter(Conversation.state == ConversationState.OPEN),
            func.count().filter(Conversation.state == ConversationState.CLOSED),
            func.count().filter(Conversation.unread > 0),
            func.count().filter(Conversation.needs_reply.is_(True)),
            func.count().filter(Conversation.assignee_id == assignee_id),
        ).select_from(Conversation)
    ).one()
    counts = {"open": row[0], "closed": row[1], "unread": row[2], "needs_reply": row[3]}
    if assignee_id is not None:
        counts["mine"] = row[4]
    return counts


@dataclass(frozen=True, slots=True)
class ThreadItem:
    direction: str
    """`in` (from the person) or `out` (to them)."""
    at: datetime
    body: str
    kind: str | None
    """Out: the campaign's kind (marketing, flow, conversation, reply...); in: the keyword
    (`opt_out`, `help`...), or None for a plain reply."""
    status: str | None
    """Out: the message's status (queued... delivered, failed, skipped)."""
    detail: str | None
    """Out: why it failed or was skipped."""
    campaign_id: int | None
    campaign_name: str | None
    author: str | None
    """Out, an agent's answer: who wrote it (their email), None if they were removed."""
    message_id: int | None
    inbound_id: int | None


def list_thread(
    session: Session, conversation: Conversation, *, limit: int = 100
) -> list[ThreadItem]:
    """The thread's latest messages both ways, newest first."""
    phone = conversation.phone
    campaigns = select(Campaign.id).scalar_subquery()
    sent = session.execute(
        select(Message, Campaign, User.email)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .outerjoin(AgentReply, AgentReply.campaign_id == Campaign.id)
        .outerjoin(User, User.id == AgentReply.user_id)
        # `campaign_id IN (...)` lets the (campaign_id, phone) index find the rows.
        .where(Message.campaign_id.in_(campaigns), Message.phone == phone)
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    received = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.from_phone == phone)
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    ).all()
    items = [_sent_item(m, c, author) for m, c, author in sent] + [
        ThreadItem(
            "in",
            m.received_at,
            m.body,
            m.keyword,
            None,
            None,
            m.campaign_id,
            None,
            None,
            None,
            m.id,
        )
        for m in received
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def _sent_item(message: Message, campaign: Campaign, author: str | None) -> ThreadItem:
    try:
        text = outgoing(campaign.body, campaign.smart_encoding, campaign.short_links).render(
            message.variables or {}
        )
    except TemplateError:
        text = campaign.body
    return ThreadItem(
        "out",
        message.sent_at or message.created_at,
        text,
        campaign.kind,
        message.status,
        message.error,
        campaign.id,
        campaign.name,
        author,
        message.id,
        None,
    )


# -- changing ------------------------------------------------------------------------------


def mark_read(session: Session, conversation: Conversation) -> None:
    if conversation.unread:
        conversation.unread = 0
        conversation.updated_at = utcnow()


def mark_unread(session: Session, conversation: Conversation) -> None:
    conversation.unread = max(conversation.unread, 1)
    conversation.updated_at = utcnow()


def set_state(conversation: Conversation, state: ConversationState) -> None:
    """Close a thread that is dealt with (it opens again at the person's next text), or
    open it again by hand."""
    conversation.state = state
    if state == ConversationState.CLOSED:
        conversation.needs_reply = False
    conversation.updated_at = utcnow()


def assign(session: Session, conversation: Conversation, user_id: int | None) -> None:
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.disabled_at is not None:
            raise InvalidInput(
                [FieldProblem("assignee_id", "no active user has this id", str(user_id))]
            )
    conversation.assignee_id = user_id
    conversation.updated_at = utcnow()


def set_note(conversation: Conversation, note: str | None) -> None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            [FieldProblem("note", f"at most {MAX_NOTE} characters (this one has {len(text)})")]
        )
    conversation.note = text or None
    conversation.updated_at = utcnow()
