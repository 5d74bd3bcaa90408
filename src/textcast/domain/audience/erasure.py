"""Erasure: a contact's personal data removed everywhere; only an opt-out's keyed hash stays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    CursorResult,
    Result,
    String,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from textcast.domain.audience import suppressions
from textcast.domain.audience.contacts import get_contact
from textcast.models import (
    Campaign,
    CampaignRecipient,
    ContactStatus,
    Conversation,
    Event,
    ImportRejection,
    InboundMessage,
    Message,
    OutboundEvent,
    Signup,
    WebhookDelivery,
    WebhookEvent,
)

REDACTED = "[erased]"


@dataclass(frozen=True, slots=True)
class Erased:
    messages: int
    inbound: int
    webhook_events: int
    kept_suppression: bool
    signups: int
    """The number's sign-ups (forms, keywords), deleted with what they held."""


def erase_contact(session: Session, secret: bytes, contact_id: int) -> Erased:
    contact = get_contact(session, contact_id)
    phone = contact.phone
    opted_out = contact.status == ContactStatus.UNSUBSCRIBED or bool(
        suppressions.suppressed_among(session, secret, [phone])
    )
    if opted_out:
        suppressions.suppress(session, secret, phone, reason="erased")
    # The number's sign-ups hold it and what the person typed (names, email, the number as
    # written): they go too, confirmed or not.
    signups = _count(
        session.execute(
            delete(Signup)
            .where(or_(Signup.phone == phone, Signup.contact_id == contact_id))
            .execution_options(synchronize_session=False)
        )
    )
    # Events posted about the person (their properties may hold anything: an address, an
    # order) go too; flow runs and their history go with the contact (ON DELETE CASCADE).
    session.execute(
        delete(Event)
        .where(or_(Event.contact_id == contact_id, Event.phone == phone))
        .execution_options(synchronize_session=False)
    )
    # Consent events and list memberships go with the contact (ON DELETE CASCADE).
    session.delete(contact)
    campaigns = select(Campaign.id).scalar_subquery()
    # `campaign_id IN (...)` lets (campaign_id, phone) indexes find the rows without a scan.
    messages = _count(
        session.execute(
            update(Message)
            .where(Message.campaign_id.in_(campaigns), Message.phone == phone)
            .values(phone=literal("~") + cast(Message.id, String), error=None)
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        delete(CampaignRecipient).where(
            CampaignRecipient.campaign_id.in_(campaigns), CampaignRecipient.phone == phone
        )
    )
    inbound = _count(
        session.execute(delete(InboundMessage).where(InboundMessage.from_phone == phone))
    )
    # The thread (its note may name the person); agents' answers keep their campaigns.
    session.execute(delete(Conversation).where(Conversation.phone == phone))
    events = _redact_webhook_payloads(session, phone)
    _forget_stream_events(session, phone)
    session.execute(
        update(ImportRejection)
        .where(ImportRejection.value.contains(phone.removeprefix("+")))
        .values(value=REDACTED)
    )
    return Erased(messages, inbound, events, opted_out, signups)


def _forget_stream_events(session: Session, phone: str) -> None:
    """The event stream's events about the number (its replies' words, its deliveries) go,
    with their deliveries: nothing pending or replayed later posts them again."""
    about = select(OutboundEvent.id).where(OutboundEvent.body.contains(phone.removeprefix("+")))
    session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(about.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(OutboundEvent)
        .where(OutboundEvent.id.in_(about.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def _redact_webhook_payloads(session: Session, phone: str) -> int:
    """Stored callbacks carry the number without `+` (Sinch's echo) or with it."""
    digits = phone.removeprefix("+")
    return _count(
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.payload.contains(digits))
            .values(
                payload=func.replace(WebhookEvent.payload, digits, REDACTED),
                # Report dedupe keys name the recipient too; they stay unique once redacted.
                dedupe_key=func.replace(WebhookEvent.dedupe_key, digits, REDACTED),
            )
            .execution_options(synchronize_session=False)
        )
    )


def _count(result: Result[Any]) -> int:
    return max(cast_type(CursorResult[Any], result).rowcount, 0)
