"""An agent's answer in a conversation: a one-recipient campaign of kind `conversation`.

Not marketing: it keeps no quiet hours and needs no marketing consent, since the person wrote
first (or subscribed). It goes through the one outbox like everything else (exactly once, the
opt-out checked again at the last moment), ahead of marketing batches, and counts toward
DAILY_RECIPIENT_QUOTA. A number that opted out, or that cannot receive texts, is refused with
the reason before anything is written.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.accounts import audit
from textcast.domain.audience import suppressions
from textcast.domain.campaigns import drafts
from textcast.domain.campaigns.launch import launch_campaign
from textcast.domain.campaigns.planning import Policy
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.domain.inbox.threads import find_conversation
from textcast.domain.phones.numbers import mask_phone
from textcast.models import (
    AgentReply,
    Campaign,
    CampaignKind,
    Contact,
    ContactStatus,
    Conversation,
    ConversationState,
    Message,
    utcnow,
)

log = logging.getLogger("textcast.conversations")

AGENT_REPLY_NAME = "Conversation reply"


def send_reply(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    actor: audit.Actor,
    policy: Policy,
    sender: str | None,
    default_region: str,
) -> Campaign:
    """Queue `body` to the thread's number; the campaign carrying it (launched, `sending`)."""
    if not body.strip():
        raise InvalidInput([FieldProblem("body", "write the answer to send")])
    contact = session.scalars(select(Contact).where(Contact.phone == conversation.phone)).first()
    _check_reachable(session, conversation, contact, policy.secret)
    draft = drafts.CampaignDraft(AGENT_REPLY_NAME, body, [conversation.phone], sender)
    campaign = drafts.create_campaign(session, draft, default_region, CampaignKind.CONVERSATION)
    launch_campaign(session, campaign.id, policy)
    now = utcnow()
    session.add(
        AgentReply(campaign_id=campaign.id, conversation_id=conversation.id, user_id=actor.user_id)
    )
    conversation.needs_reply = False
    conversation.unread = 0
    conversation.state = ConversationState.OPEN
    conversation.last_reply_at = now
    conversation.last_message_at = now
    conversation.updated_at = now
    if contact is not None and conversation.contact_id is None:
        conversation.contact_id = contact.id
    audit.record(
        session,
        actor,
        "conversation_replied",
        f"conversation:{conversation.id}",
        campaign_id=campaign.id,
    )
    log.info("agent reply queued to %s (campaign %d)", mask_phone(conversation.phone), campaign.id)
    return campaign


def start_conversation(session: Session, contact: Contact) -> Conversation:
    """The thread of a contact who never texted in (an agent writes first): allowed for a
    subscribed contact only; someone who never wrote nor subscribed is reached by a
    campaign after consent, not by an agent."""
    found = find_conversation(session, contact.phone)
    if found is not None:
        return found
    if contact.status != ContactStatus.SUBSCRIBED:
        raise Conflict(
            f"{mask_phone(contact.phone)} never texted you and is {contact.status}: an agent "
            "may write first only to a subscribed contact"
        )
    now = utcnow()
    conversation = Conversation(
        phone=contact.phone,
        contact_id=contact.id,
        state=ConversationState.OPEN,
        unread=0,
        needs_reply=False,
        last_message_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def reply_refusal(session: Session, conversation: Conversation, secret: bytes) -> str | None:
    """Why no answer can be sent to the thread's number now (it opted out, it is invalid),
    in the words `send_reply` refuses with; None when an answer can go."""
    contact = session.scalars(select(Contact).where(Contact.phone == conversation.phone)).first()
    try:
        _check_reachable(session, conversation, contact, secret)
    except Conflict as refused:
        return str(refused)
    return None


def _check_reachable(
    session: Session, conversation: Conversation, contact: Contact | None, secret: bytes
) -> None:
    masked = mask_phone(conversation.phone)
    if contact is not None and contact.status == ContactStatus.UNSUBSCRIBED:
        raise Conflict(
            f"{masked} opted out (STOP): nothing more can be texted to this number until they "
            "text START"
        )
    if contact is not None and contact.status == ContactStatus.INVALID:
        raise Conflict(
            f"{masked} cannot receive texts: its last messages failed permanently (the "
            "number is marked invalid)"
        )
    if suppressions.suppressed_among(session, secret, [conversation.phone]):
        raise Conflict(
            f"{masked} opted out (STOP): nothing more can be texted to this number until they "
            "text START"
        )


def answer_message(session: Session, campaign_id: int) -> Message:
    """The one message an agent's answer (its campaign) carries."""
    found = session.scalars(select(Message).where(Message.campaign_id == campaign_id)).first()
    if found is None:
        raise NotFound("message of campaign", campaign_id)
    return found
