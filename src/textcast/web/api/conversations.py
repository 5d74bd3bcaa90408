"""`/api/v1/conversations`: one thread per number, both ways, newest first; agents answer in
it, close it, assign it, keep a note; and `/api/v1/quick-replies`, the answers they insert.

A thread is addressed by its contact (`/{contact_id}`), or by its own id (`/by-id/{id}`) for
a number nobody saved as a contact yet; the list gives both. Reading a thread never marks it
read: `PATCH {"unread": false}` does, as opening it in the dashboard does. Viewers read;
editors and admins change and answer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.db import Database
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.audience.contacts import MAX_NAME, ContactDraft
from textcast.domain.content import encoding
from textcast.domain.content.encoding import Encoding
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.inbox import quick_replies, threads
from textcast.domain.inbox.threads import ConversationEntry, ConversationFilter
from textcast.models import (
    Campaign,
    Contact,
    Conversation,
    ConversationState,
    Message,
    User,
)
from textcast.runtime import Runtime
from textcast.services import audience
from textcast.services import conversations as use_cases
from textcast.vocabulary import campaign_display_name
from textcast.web.api import path_segments  # noqa: F401 - {contact_id:contact_id} below
from textcast.web.api.contacts import ContactOut
from textcast.web.api.ids import MAX_ID, Id
from textcast.web.api.inbox import TEXTED_FIRST
from textcast.web.api.inputs import Input
from textcast.web.auth import Sender, Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(tags=["conversations"], dependencies=[guard(Permission.READ)])

CONVERSATIONS = "/api/v1/conversations"
BY_CONTACT = f"{CONVERSATIONS}/{{contact_id:contact_id}}"
BY_ID = f"{CONVERSATIONS}/by-id/{{conversation_id}}"
QUICK_REPLIES = "/api/v1/quick-replies"
TEXT_BOUND = 10_000
"""Longer than the domain's limits (2,000 for an answer, 4,000 for a note), so that its
answer says what the limit is."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = re.compile(r"([0-9]{1,17})-([0-9]{1,19})")


# -- what the answers hold -------------------------------------------------------------------


class ContactRefOut(BaseModel):
    id: int
    name: str | None = Field(description="First and last name; null when none is known.")

    @classmethod
    def of(cls, contact: Contact | None) -> ContactRefOut | None:
        if contact is None:
            return None
        name = " ".join(n for n in (contact.first_name, contact.last_name) if n) or None
        return cls(id=contact.id, name=name)


class UserRefOut(BaseModel):
    id: int
    email: str

    @classmethod
    def of(cls, user: User | None) -> UserRefOut | None:
        return None if user is None else cls(id=user.id, email=user.email)


class ConversationOut(BaseModel):
    id: int = Field(description="The thread's own id (`/by-id/{id}`).")
    phone: str
    contact: ContactRefOut | None = Field(
        description="The contact of this number (`/{contact_id}`); null: an unknown sender."
    )
    state: ConversationState = Field(
        description="open, or closed (dealt with): the person's next text opens it again."
    )
    unread: int = Field(description="Texts from the person since someone last marked it read.")
    needs_reply: bool = Field(
        description="The person's last text (not a keyword) has no agent's answer after it."
    )
    assignee: UserRefOut | None
    note: str | None
    last_message_at: datetime = Field(description="The latest text either way: the order.")
    last_inbound_at: datetime | None
    last_reply_at: datetime | None = Field(description="The latest agent's answer.")
    last_text: str | None = Field(description="The person's latest text, for a preview.")

    @classmethod
    def of(
        cls,
        conversation: Conversation,
        contact: Contact | None,
        assignee: User | None,
        last_text: str | None,
    ) -> ConversationOut:
        return cls(
            id=conversation.id,
            phone=conversation.phone,
            contact=ContactRefOut.of(contact),
            state=conversation.state,
            unread=conversation.unread,
            needs_reply=conversation.needs_reply,
            assignee=UserRefOut.of(assignee),
            note=conversation.note,
            last_message_at=conversation.last_message_at,
            last_inbound_at=conversation.last_inbound_at,
            last_reply_at=conversation.last_reply_at,
            last_text=last_text,
        )

    @classmethod
    def of_entry(cls, entry: ConversationEntry) -> ConversationOut:
        return cls.of(entry.conversation, entry.contact, entry.assignee, entry.last_text)


class CountsOut(BaseModel):
    """Over every thread, whatever the filters: the inbox's tabs."""

    open: int
    closed: int
    unread: int = Field(description="Threads with unread texts: the navigation's badge.")
    needs_reply: int


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )
    counts: CountsOut


class UnreadOut(BaseModel):
    unread: int = Field(description="Threads with a text nobody has marked read yet.")


class CampaignRefOut(BaseModel):
    id: int
    name: str | None


class ThreadItemOut(BaseModel):
    direction: str = Field(description="`in` (from the person) or `out` (to them).")
    at: datetime
    body: str
    kind: str | None = Field(
        description="Out: the campaign's kind (marketing, flow, reply, confirmation, welcome, "
        "conversation...); in: the keyword it was (opt_out, opt_in, help...), or null for a "
        "plain reply."
    )
    status: str | None = Field(description="Out: queued ... delivered, failed, skipped.")
    detail: str | None = Field(description="Out: why it failed or was skipped.")
    campaign: CampaignRefOut | None = Field(
        description="Out: the campaign that sent it; in: the campaign it answered, if known."
    )
    author: str | None = Field(description="Out, an agent's answer: who wrote it.")
    message_id: int | None
    inbound_id: int | None

    @classmethod
    def of(cls, item: threads.ThreadItem) -> ThreadItemOut:
        campaign = None
        if item.campaign_id is not None:
            name = item.campaign_name
            if name is not None and item.kind is not None:
                name = campaign_display_name(name, item.kind)
            campaign = CampaignRefOut(id=item.campaign_id, name=name)
        return cls(
            direction=item.direction,
            at=item.at,
            body=item.body,
            kind=item.kind,
            status=item.status,
            detail=item.detail,
            campaign=campaign,
            author=item.author,
            message_id=item.message_id,
            inbound_id=item.inbound_id,
        )


class ThreadOut(BaseModel):
    conversation: ConversationOut
    items: list[ThreadItemOut] = Field(description="Both ways, newest first.")

    @classmethod
    def of(cls, thread: use_cases.Thread) -> ThreadOut:
        items = [ThreadItemOut.of(item) for item in thread.items]
        last_text = next((i.body for i in items if i.direction == "in"), None)
        conversation = ConversationOut.of(
            thread.conversation, thread.contact, thread.assignee, last_text
        )
        return cls(conversation=conversation, items=items)


class CounterOut(BaseModel):
    """The editor's live counter, for the text as sent."""

    characters: int
    encoding: Encoding
    length: int = Field(description="GSM-7 septets (extension characters count 2) or UCS-2 units.")
    parts: int
    remaining: int = Field(description="Septets or units left before another part is needed.")


class ReplyOut(BaseModel):
    conversation_id: int
    contact_id: int | None
    phone: str
    campaign_id: int = Field(description="The one-recipient `conversation` campaign it goes as.")
    message_id: int
    status: str = Field(
        description="queued: the dispatcher sends it ahead of marketing batches; follow it in "
        "the thread or `GET /api/v1/campaigns/{campaign_id}`."
    )
    body: str
    parts: int
    encoding: Encoding
    counter: CounterOut

    @classmethod
    def of(cls, campaign: Campaign, message: Message, conversation: Conversation) -> ReplyOut:
        report = encoding.analyze(campaign.body)
        return cls(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            phone=conversation.phone,
            campaign_id=campaign.id,
            message_id=message.id,
            status=message.status,
            body=campaign.body,
            parts=message.parts or campaign.parts,
            encoding=report.encoding,
            counter=CounterOut(
                characters=len(campaign.body),
                encoding=report.encoding,
                length=report.length,
                parts=report.parts,
                remaining=report.remaining,
            ),
        )


# -- what the requests hold ------------------------------------------------------------------


class ReplyIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Yes, the sale is online too!"}]},
    )

    body: Annotated[str, Field(max_length=TEXT_BOUND)] = Field(
        description="The answer, at most 2,000 characters; see `POST /api/v1/encoding` for its "
        "parts as you type."
    )


class ConversationPatch(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"state": "closed"}, {"assignee_id": 2, "note": "VIP, call back"}]
        },
    )

    state: ConversationState | None = None
    assignee_id: Annotated[int, Field(strict=True, ge=0, le=MAX_ID)] | None = Field(
        default=None, description="A user's id; null or 0: nobody."
    )
    note: Annotated[str, Field(max_length=TEXT_BOUND)] | None = Field(
        default=None, description="At most 4,000 characters; empty or null clears it."
    )
    unread: bool | None = Field(
        default=None,
        strict=True,
        description="false: mark it read (as opening it in the dashboard does); true: unread.",
    )

    def change(self) -> use_cases.ConversationChange:
        given = self.model_fields_set
        return use_cases.ConversationChange(
            state=self.state,
            # null means "nobody" here, not "unchanged": 0 tells the use case so.
            assignee_id=(self.assignee_id or 0) if "assignee_id" in given else None,
            note=(self.note or "") if "note" in given else None,
            unread=self.unread,
        )


class SenderIn(Input):
    model_config = ConfigDict(extra="forbid")

    first_name: Annotated[str | None, Field(max_length=MAX_NAME)] = None
    last_name: Annotated[str | None, Field(max_length=MAX_NAME)] = None
    consent_evidence: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        default=TEXTED_FIRST,
        description="How this person agreed to receive messages (kept in the consent ledger).",
    )


class QuickReplyIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Hours", "body": "We are open 9 to 6, Monday to Saturday."}]
        },
    )

    name: Annotated[str, Field(max_length=TEXT_BOUND)] = Field(description="At most 80 chars.")
    body: Annotated[str, Field(max_length=TEXT_BOUND)] = Field(description="At most 2,000.")


class QuickReplyPatch(Input):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=TEXT_BOUND)] | None = None
    body: Annotated[str, Field(max_length=TEXT_BOUND)] | None = None


class QuickReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    body: str
    created_at: datetime
    updated_at: datetime


# -- conversations ---------------------------------------------------------------------------


def _cursor(text: str | None) -> tuple[datetime, int] | None:
    if text is None:
        return None
    found = CURSOR.fullmatch(text)
    if found is None or not 0 < int(found[2]) <= MAX_ID:
        raise InvalidInput([FieldProblem("cursor", "pass `next_cursor` of the previous page")])
    return EPOCH + timedelta(microseconds=int(found[1])), int(found[2])


def _next_cursor(conversation: Conversation) -> str:
    at = conversation.last_message_at
    if at.tzinfo is None:  # SQLite hands back naive UTC
        at = at.replace(tzinfo=UTC)
    return f"{(at - EPOCH) // timedelta(microseconds=1)}-{conversation.id}"


@router.get(CONVERSATIONS)
def list_conversations(
    session: ReadSession,
    state: Annotated[ConversationState | None, Query(description="open or closed.")] = None,
    unread: Annotated[bool, Query(description="Only threads with unread texts.")] = False,
    needs_reply: Annotated[bool, Query(description="Only threads waiting for an answer.")] = False,
    assignee_id: Annotated[Id | None, Query(description="Only this user's threads.")] = None,
    unassigned: Annotated[bool, Query(description="Only threads assigned to nobody.")] = False,
    cursor: Annotated[
        str | None, Query(max_length=40, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConversationPage:
    """Threads, the latest message first, with the counts of the inbox's tabs (from the same
    table, so that they agree with the list)."""
    if assignee_id is not None and unassigned:
        raise InvalidInput(
            [FieldProblem("unassigned", "ask for one assignee, or for unassigned threads")]
        )
    where = ConversationFilter(
        state=state,
        unread=unread,
        needs_reply=needs_reply,
        assignee_id=assignee_id,
        unassigned=unassigned,
    )
    rows = threads.list_conversations(session, where, before=_cursor(cursor), limit=limit)
    return ConversationPage(
        items=[ConversationOut.of_entry(row) for row in rows],
        next_cursor=_next_cursor(rows[-1].conversation) if len(rows) == limit else None,
        counts=CountsOut.model_validate(threads.count_conversations(session)),
    )


@router.get(f"{CONVERSATIONS}/unread")
def unread_conversations(session: ReadSession) -> UnreadOut:
    """How many threads have a text nobody has read: the navigation's badge."""
    return UnreadOut(unread=threads.unread_conversations(session))


ThreadLimit = Annotated[int, Query(ge=1, le=500, description="The latest messages, both ways.")]


@router.get(BY_CONTACT)
def get_contact_thread(
    contact_id: Id, database: DatabaseDep, limit: ThreadLimit = 100
) -> ThreadOut:
    """The contact's thread: every message both ways, newest first, with the status of those
    sent. Reading it does not mark it read (`PATCH {"unread": false}` does). 404 when the
    contact never texted in and nobody wrote to them."""
    conversation_id = use_cases.conversation_of_contact(database, contact_id)
    return ThreadOut.of(
        use_cases.read_thread(database, conversation_id, mark_read=False, limit=limit)
    )


@router.get(BY_ID)
def get_thread(conversation_id: Id, database: DatabaseDep, limit: ThreadLimit = 100) -> ThreadOut:
    """As `GET /api/v1/conversations/{contact_id}`, by the thread's id: also for a number
    that is no contact."""
    return ThreadOut.of(
        use_cases.read_thread(database, conversation_id, mark_read=False, limit=limit)
    )


REPLY_PROBLEMS = problems(409)


@router.post(
    f"{BY_CONTACT}/messages", status_code=status.HTTP_201_CREATED, responses=REPLY_PROBLEMS
)
def reply_to_contact(
    contact_id: Id, payload: ReplyIn, runtime: RuntimeDep, principal: Sender
) -> ReplyOut:
    """Answer in the contact's thread (it starts, for a subscribed contact who never texted
    in). A conversational text, not marketing: no quiet hours, sent ahead of marketing
    batches, exactly once; it counts toward DAILY_RECIPIENT_QUOTA (429 with Retry-After once
    reached). 409 with the reason for a number that opted out or cannot receive texts, or a
    contact who never texted in and is not subscribed; 400 naming `body` when it is empty or
    too long."""
    campaign, conversation = use_cases.reply_to_contact(
        runtime.database,
        Actor.of(principal),
        contact_id,
        payload.body,
        runtime.agent_reply_policy,
    )
    return _replied(runtime, campaign, conversation)


@router.post(f"{BY_ID}/messages", status_code=status.HTTP_201_CREATED, responses=REPLY_PROBLEMS)
def reply(
    conversation_id: Id, payload: ReplyIn, runtime: RuntimeDep, principal: Sender
) -> ReplyOut:
    """As `POST /api/v1/conversations/{contact_id}/messages`, by the thread's id: the way to
    answer a number that is no contact."""
    campaign = use_cases.reply(
        runtime.database,
        Actor.of(principal),
        conversation_id,
        payload.body,
        runtime.agent_reply_policy,
    )
    conversation = use_cases.view_conversation(runtime.database, conversation_id).conversation
    return _replied(runtime, campaign, conversation)


def _replied(runtime: Runtime, campaign: Campaign, conversation: Conversation) -> ReplyOut:
    runtime.wake_dispatcher()
    message = use_cases.reply_message(runtime.database, campaign.id)
    return ReplyOut.of(campaign, message, conversation)


@router.patch(BY_CONTACT)
def update_contact_conversation(
    contact_id: Id, payload: ConversationPatch, database: DatabaseDep, principal: Writer
) -> ConversationOut:
    """Close or open the contact's thread, assign it (`assignee_id`: null or 0 for nobody),
    keep a note, mark it read or unread. Fields left out stay as they are."""
    conversation_id = use_cases.conversation_of_contact(database, contact_id)
    return _updated(database, principal, conversation_id, payload)


@router.patch(BY_ID)
def update_conversation(
    conversation_id: Id, payload: ConversationPatch, database: DatabaseDep, principal: Writer
) -> ConversationOut:
    """As `PATCH /api/v1/conversations/{contact_id}`, by the thread's id."""
    return _updated(database, principal, conversation_id, payload)


def _updated(
    database: Database, principal: Principal, conversation_id: int, payload: ConversationPatch
) -> ConversationOut:
    use_cases.update_conversation(database, Actor.of(principal), conversation_id, payload.change())
    return ConversationOut.of_entry(use_cases.view_conversation(database, conversation_id))


@router.post(f"{BY_ID}/contact", status_code=status.HTTP_201_CREATED, responses=problems(409))
def save_sender(
    conversation_id: Id, payload: SenderIn, runtime: RuntimeDep, _: Writer
) -> ContactOut:
    """Save the thread's unknown number as a contact, subscribed with the consent evidence
    given (a number that once texted STOP stays unsubscribed); its texts and thread become
    the contact's. 409 when the number is a contact already."""
    draft = ContactDraft(
        phone="",
        first_name=payload.first_name or None,
        last_name=payload.last_name or None,
        consent_evidence=payload.consent_evidence,
    )
    contact = audience.save_thread_sender(
        runtime.database,
        runtime.secret,
        conversation_id,
        draft,
        default_region=runtime.settings.default_region,
    )
    return ContactOut.of(contact)


# -- quick replies ---------------------------------------------------------------------------


@router.get(QUICK_REPLIES, tags=["quick replies"])
def list_quick_replies(session: ReadSession) -> list[QuickReplyOut]:
    """Saved answers agents insert into a reply, by name."""
    return [QuickReplyOut.model_validate(q) for q in quick_replies.list_quick_replies(session)]


@router.post(
    QUICK_REPLIES,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
    tags=["quick replies"],
)
def create_quick_reply(payload: QuickReplyIn, database: DatabaseDep, _: Writer) -> QuickReplyOut:
    """400 naming `name` (empty, too long, taken) or `body` (empty, too long); 409 past 200."""
    saved = use_cases.save_quick_reply(database, payload.name, payload.body)
    return QuickReplyOut.model_validate(saved)


@router.patch(f"{QUICK_REPLIES}/{{quick_reply_id}}", tags=["quick replies"])
def update_quick_reply(
    quick_reply_id: Id, payload: QuickReplyPatch, database: DatabaseDep, _: Writer
) -> QuickReplyOut:
    """Change its name, its text or both."""
    saved = use_cases.edit_quick_reply(
        database, quick_reply_id, name=payload.name, body=payload.body
    )
    return QuickReplyOut.model_validate(saved)


@router.delete(f"{QUICK_REPLIES}/{{quick_reply_id}}", tags=["quick replies"])
def delete_quick_reply(quick_reply_id: Id, database: DatabaseDep, _: Writer) -> QuickReplyOut:
    """The quick reply deleted."""
    return QuickReplyOut.model_validate(use_cases.delete_quick_reply(database, quick_reply_id))
