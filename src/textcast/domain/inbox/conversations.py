"""Conversations: what was texted to a number, what came back, and the inbox with its people.

Queries for reading (the dashboard's contact page and inbox); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from textcast.domain.inbox.inbound import InboxFilter, list_inbound
from textcast.models import Campaign, Contact, InboundMessage, Message


@dataclass(frozen=True, slots=True)
class InboxEntry:
    message: InboundMessage
    contact: Contact | None
    campaign: Campaign | None


def list_sent_to(
    session: Session, phone: str, *, limit: int = 50
) -> list[tuple[Message, Campaign]]:
    """Messages to this number, newest first, each with its campaign (replies and tests too)."""
    campaigns = select(Campaign.id).scalar_subquery()
    rows = session.execute(
        select(Message, Campaign)
        .join(Campaign, Campaign.id == Message.campaign_id)
        # `campaign_id IN (...)` lets the (campaign_id, phone) index find the rows without a scan.
        .where(Message.campaign_id.in_(campaigns), Message.phone == phone)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return [(message, campaign) for message, campaign in rows]


def list_received_from(
    session: Session, phone: str, *, limit: int = 50
) -> list[tuple[InboundMessage, Campaign | None]]:
    """What this number texted us, newest first, keywords included, each with the campaign it
    answers. By number, not by contact: a text from before the contact existed counts too."""
    rows = session.execute(
        select(InboundMessage, Campaign)
        .outerjoin(Campaign, Campaign.id == InboundMessage.campaign_id)
        .where(InboundMessage.from_phone == phone)
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    return [(message, campaign) for message, campaign in rows]


def list_inbox(
    session: Session, where: InboxFilter, *, before_id: int | None = None, limit: int = 50
) -> list[InboxEntry]:
    """`inbound.list_inbound`, each message with its contact and the campaign it answers.

    A text that arrived before its sender became a contact is shown with that contact too."""
    messages = list_inbound(session, where, before_id=before_id, limit=limit)
    contact_ids = {m.contact_id for m in messages if m.contact_id is not None}
    unlinked = {m.from_phone for m in messages if m.contact_id is None}
    campaign_ids = {m.campaign_id for m in messages if m.campaign_id is not None}
    found = session.scalars(
        select(Contact).where(or_(Contact.id.in_(contact_ids), Contact.phone.in_(unlinked)))
    )
    contacts: dict[int, Contact] = {}
    by_phone: dict[str, Contact] = {}
    for contact in found:
        contacts[contact.id] = contact
        by_phone[contact.phone] = contact
    campaigns = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    return [
        InboxEntry(
            message,
            contacts.get(message.contact_id)
            if message.contact_id is not None
            else by_phone.get(message.from_phone),
            campaigns.get(message.campaign_id) if message.campaign_id is not None else None,
        )
        for message in messages
    ]


def list_campaigns_replied_to(session: Session, *, limit: int = 200) -> list[Campaign]:
    """Campaigns that received at least one text back, newest first."""
    answered = select(InboundMessage.campaign_id).where(InboundMessage.campaign_id.is_not(None))
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.id.in_(answered))
            .order_by(Campaign.id.desc())
            .limit(limit)
        )
    )
