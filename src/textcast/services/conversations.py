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
from textcast.domain.errors import NotFound
from textcast.domain.inbox import agent_replies, quick_replies, threads
from textcast.models import Campaign, Contact, Conversation, ConversationState, QuickReply


@dataclass(frozen=True, slots=True)
class Thread:
    conversation: Conversation
    contact: Contact | None
    items: list[threads.ThreadItem]


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
        return Thread(
            conversation, contact, threads.list_thread(session, conversation, limit=limit)
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


def delete_quick_reply(database: Database, quick_reply_id: int) -> None:
    with database.write() as session:
        quick_replies.delete_quick_reply(session, quick_reply_id)
