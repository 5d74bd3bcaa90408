"""Consent: opt-in and opt-out with evidence, in an append-only ledger, and suppression."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.audience import suppressions
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.models import ConsentEvent, ConsentKind, Contact, ContactStatus


@dataclass(frozen=True, slots=True)
class Evidence:
    source: str
    """`keyword`, `api`, `cli`, `import:<id>`…"""
    text: str | None = None
    keyword: str | None = None
    inbound_message_id: int | None = None


def opt_out(session: Session, secret: bytes, contact: Contact, evidence: Evidence) -> None:
    """Unsubscribe now and everywhere: the suppression is what the dispatcher checks."""
    hold_opt_out_lock(session, shared=False)
    contact.status = ContactStatus.UNSUBSCRIBED
    suppressions.suppress(
        session, secret, contact.phone, reason=evidence.keyword or evidence.source
    )
    _record(session, contact, ConsentKind.OPT_OUT, evidence)


def opt_in(session: Session, secret: bytes, contact: Contact, evidence: Evidence) -> None:
    contact.status = ContactStatus.SUBSCRIBED
    suppressions.lift(session, secret, contact.phone)
    _record(session, contact, ConsentKind.OPT_IN, evidence)


def _record(session: Session, contact: Contact, kind: ConsentKind, evidence: Evidence) -> None:
    session.add(
        ConsentEvent(
            contact_id=contact.id,
            kind=kind,
            source=evidence.source,
            evidence=evidence.text,
            keyword=evidence.keyword,
            inbound_message_id=evidence.inbound_message_id,
        )
    )


def history(session: Session, contact_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact_id)
            .order_by(ConsentEvent.id)
        )
    )
