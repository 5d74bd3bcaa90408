"""Conversations' use cases: open a thread (it is then read), answer in it, change its state,
assignee and note, and keep the quick replies. Each runs in one transaction; an answer has its
audit entry (`conversation_replied`), as have changes of assignee and state.

After `reply`, the caller wakes the dispatcher: the answer is queued, ahead of marketing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.audience import contacts
from textcast.domain.campaigns.planning import Policy
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.domain.inbox import agent_replies, quick_replies, threads
from textcast.domain.phones.numbers import InvalidPhone, read_phone
from textcast.models import (
    Campaign,
    Contact,
    Conversation,
    ConversationState,
    Message,
    QuickReply,
    User,
)


@dataclass(frozen=True, slots=True)
class Thread:
    conversation: Conversation
    contact: Contact | None
    items: list[threads.ThreadItem]
    assignee: User | None = None


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """What an agent's answer goes out with: the sending policy in effect (quotas, the
    instance's key for opt-outs), the sender, and the default region of numbers."""

    policy: Policy
    sender: str | None
    default_region: str


def conversation_of_contact(database: Database, contact_id: int) -> int:
    """The id of the contact's thread; `NotFound` when the contact never texted in and no
    agent wrote to them."""
    with database.read() as session:
        contact = contacts.get_contact(session, contact_id)
        found = threads.find_conversation(session, contact.phone)
        if found is None:
            raise NotFound("conversation of contact", contact_id)
        return found.id


def conversation_of_number(database: Database, number: str, default_region: str) -> int:
    """The id of the thread of `number` (written any common way); `InvalidInput` naming
    `contact` for text that is no number, `NotFound` when nobody of that number ever texted
    in nor was written to."""
    e164 = _number(number, default_region)
    with database.read() as session:
        found = threads.find_conversation(session, e164)
    if found is None:
        raise NotFound("conversation with", e164)
    return found.id


def view_conversation(database: Database, conversation_id: int) -> threads.ConversationEntry:
    """The thread as the inbox lists it (contact, assignee, latest text), without its
    messages; nothing changes."""
    with database.read() as session:
        return threads.conversation_entry(session, conversation_id)


def reply_message(database: Database, campaign_id: int) -> Message:
    """The message an answer queued (`reply`'s campaign): its id, status and parts."""
    with database.read() as session:
        return agent_replies.answer_message(session, campaign_id)


def _number(text: str, default_region: str) -> str:
    try:
        return read_phone(text, default_region, with_time_zone=False).e164
    except InvalidPhone as exc:
        raise InvalidInput([FieldProblem("contact", exc.quoting(text))]) from None


def read_thread(
    database: Database, conversation_id: int, *, mark_read: bool = True, limit: int = 100
) -> Thread:
    """The thread with its latest messages; opening it marks it read (only then is it a
    write: a page that polls must not take SQLite's one write lock for nothing)."""
    opening = database.write() if mark_read else database.read()
    with opening as session:
        conversation = threads.get_conversation(session, conversation_id)
        if mark_read:
            threads.mark_read(session, conversation)
        contact = session.scalars(
            select(Contact).where(Contact.phone == conversation.phone)
        ).first()
        assignee = None
        if conversation.assignee_id is not None:
            assignee = session.get(User, conversation.assignee_id)
        return Thread(
            conversation,
            contact,
            threads.list_thread(session, conversation, limit=limit),
            assignee,
        )


def reply(
    database: Database,
    actor: Actor,
    conversation_id: int,
    body: str,
    policy: ReplyPolicy,
) -> Campaign:
    with database.write() as session:
        conversation = threads.get_conversation(session, conversation_id)
        return _send(session, actor, conversation, body, policy)


def reply_to_contact(
    database: Database, actor: Actor, contact_id: int, body: str, policy: ReplyPolicy
) -> tuple[Campaign, Conversation]:
    """An answer in the contact's thread, which starts (for a subscribed contact) if the
    contact never texted in."""
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        conversation = agent_replies.start_conversation(session, contact)
        return _send(session, actor, conversation, body, policy), conversation


def reply_to_number(
    database: Database,
    actor: Actor,
    number: str,
    body: str,
    policy: ReplyPolicy,
) -> tuple[Campaign, Conversation]:
    """An answer in the thread of `number` (written any common way): the thread of whoever
    texted from it, or, for a subscribed contact who never did, a new one."""
    e164 = _number(number, policy.default_region)
    with database.write() as session:
        conversation = threads.find_conversation(session, e164)
        if conversation is None:
            contact = contacts.find_by_phone(session, e164)
            if contact is None:
                raise NotFound("conversation or contact with", e164)
            conversation = agent_replies.start_conversation(session, contact)
        return _send(session, actor, conversation, body, policy), conversation


def _send(
    session: Session,
    actor: Actor,
    conversation: Conversation,
    body: str,
    policy: ReplyPolicy,
) -> Campaign:
    return agent_replies.send_reply(
        session,
        conversation,
        body,
        actor=actor,
        policy=policy.policy,
        sender=policy.sender,
        default_region=policy.default_region,
    )


@dataclass(frozen=True, slots=True)
class ConversationChange:
    """What to change; a field left None stays as it is (`assignee_id=0`: unassign)."""

    state: ConversationState | None = None
    assignee_id: int | None = None
    note: str | None = None
    unread: bool | None = None


def update_conversation(
    database: Database, actor: Actor, conversation_id: int, change: ConversationChange
) -> Conversation:
    with database.write() as session:
        conversation = threads.get_conversation(session, conversation_id)
        target = f"conversation:{conversation_id}"
        if change.state is not None and change.state != conversation.state:
            threads.set_state(conversation, change.state)
            audit.record(session, actor, "conversation_state", target, state=change.state)
        if change.assignee_id is not None:
            assignee = change.assignee_id or None
            if assignee != conversation.assignee_id:
                threads.assign(session, conversation, assignee)
                audit.record(session, actor, "conversation_assigned", target, user_id=assignee)
        if change.note is not None:
            threads.set_note(conversation, change.note)
        if change.unread is True:
            threads.mark_unread(session, conversation)
        elif change.unread is False:
            threads.mark_read(session, conversation)
        return conversation


# -- quick replies -------------------------------------------------------------------------


def save_quick_reply(
    database: Database, name: str, body: str, *, quick_reply_id: int | None = None
) -> QuickReply:
    with database.write() as session:
        return quick_replies.save_quick_reply(session, name, body, quick_reply_id=quick_reply_id)


def edit_quick_reply(
    database: Database, quick_reply_id: int, *, name: str | None = None, body: str | None = None
) -> QuickReply:
    """Change its name, its text or both; what is None stays as it is."""
    with database.write() as session:
        current = quick_replies.get_quick_reply(session, quick_reply_id)
        return quick_replies.save_quick_reply(
            session,
            current.name if name is None else name,
            current.body if body is None else body,
            quick_reply_id=quick_reply_id,
        )


def delete_quick_reply(database: Database, quick_reply_id: int) -> QuickReply:
    """The quick reply deleted."""
    with database.write() as session:
        deleted = quick_replies.get_quick_reply(session, quick_reply_id)
        quick_replies.delete_quick_reply(session, quick_reply_id)
        return deleted
