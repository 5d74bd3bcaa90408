"""Consent: opt-in and opt-out with evidence, in an append-only ledger, and suppression.

A person's change of someone's consent (the API, the dashboard) is also audited, naming the
ledger's event (`consent_event`), so the ledger can say who made it (`authors`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from textcast.domain import stream
from textcast.domain.accounts import audit
from textcast.domain.audience import suppressions
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import (
    ConsentEvent,
    ConsentKind,
    ConsentPurpose,
    Contact,
    ContactStatus,
    EventType,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    source: str
    """`keyword`, `api`, `cli`, `import:<id>`…"""
    text: str | None = None
    keyword: str | None = None
    inbound_message_id: int | None = None
    signup_id: int | None = None
    """The sign-up (form or keyword) whose stored evidence this rests on."""
    purpose: ConsentPurpose = ConsentPurpose.ALL
    """What the consent is about: a STOP or START is about every message."""


def opt_out(session: Session, secret: bytes, contact: Contact, evidence: Evidence) -> ConsentEvent:
    """Unsubscribe now and everywhere: the suppression is what the dispatcher checks."""
    hold_opt_out_lock(session, shared=False)
    contact.status = ContactStatus.UNSUBSCRIBED
    if evidence.purpose == ConsentPurpose.ALL:
        contact.transactional_consent = False
    suppressions.suppress(
        session, secret, contact.phone, reason=evidence.keyword or evidence.source
    )
    return _record(session, contact, ConsentKind.OPT_OUT, evidence)


def opt_in(session: Session, secret: bytes, contact: Contact, evidence: Evidence) -> ConsentEvent:
    contact.status = ContactStatus.SUBSCRIBED
    if evidence.purpose == ConsentPurpose.ALL:
        contact.transactional_consent = True
    suppressions.lift(session, secret, contact.phone)
    return _record(session, contact, ConsentKind.OPT_IN, evidence)


def set_transactional(
    session: Session, contact: Contact, granted: bool, evidence: Evidence
) -> ConsentEvent | None:
    """Transactional consent given or withdrawn, leaving marketing consent as it is; None when
    it already was so. Only the person can take back a STOP: a number that opted out gets it
    back by texting START (or an opt-in with the person's evidence), not from this."""
    if contact.transactional_consent == granted:
        return None
    if granted and contact.status == ContactStatus.UNSUBSCRIBED:
        raise InvalidInput(
            [
                FieldProblem(
                    "transactional_consent",
                    "this number opted out of every message: only the person can take that "
                    "back (START), or opt them in with their evidence",
                )
            ]
        )
    contact.transactional_consent = granted
    purpose = ConsentPurpose.TRANSACTIONAL
    kind = ConsentKind.OPT_IN if granted else ConsentKind.OPT_OUT
    return _record(session, contact, kind, dataclasses.replace(evidence, purpose=purpose))


def _record(
    session: Session, contact: Contact, kind: ConsentKind, evidence: Evidence
) -> ConsentEvent:
    event = ConsentEvent(
        contact_id=contact.id,
        kind=kind,
        source=evidence.source,
        evidence=evidence.text,
        keyword=evidence.keyword,
        inbound_message_id=evidence.inbound_message_id,
        purpose=evidence.purpose,
        signup_id=evidence.signup_id,
    )
    session.add(event)
    announce(session, kind, [(contact.id, contact.phone)], evidence.source, evidence.purpose)
    return event


def announce(
    executor: Session | Connection,
    kind: ConsentKind,
    contacts: Sequence[tuple[int, str]],
    source: str,
    purpose: ConsentPurpose | str = ConsentPurpose.MARKETING,
    *,
    at: datetime | None = None,
) -> None:
    """`contact.subscribed` or `contact.unsubscribed` for each (contact id, phone) that gave
    or withdrew consent: what the ledger's new events say, in the same transaction."""
    if not contacts:
        return
    at = at or utcnow()
    opted_in = kind == ConsentKind.OPT_IN
    type_ = EventType.CONTACT_SUBSCRIBED if opted_in else EventType.CONTACT_UNSUBSCRIBED
    common = {
        "purpose": str(purpose),
        # `import:12`, `form:spring-sale`, `keyword:VIP`: the kind of place, the ledger
        # keeps which one.
        "source": source.split(":", 1)[0],
        "subscribed_at" if opted_in else "unsubscribed_at": stream.timestamp(at),
    }
    stream.record_many(
        executor,
        type_,
        [{"contact_id": contact_id, "phone": phone, **common} for contact_id, phone in contacts],
        at=at,
    )


def history(session: Session, contact_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact_id)
            .order_by(ConsentEvent.id)
        )
    )


OPT_OUT_ACTION = "contact.opt_out"
OPT_IN_ACTION = "contact.opt_in"
TRANSACTIONAL_ACTION = "contact.transactional_consent"
AUTHORED_ACTIONS = (OPT_OUT_ACTION, OPT_IN_ACTION, TRANSACTIONAL_ACTION)
"""The audit actions that name the consent event a person made (`consent_event`)."""


def authors(session: Session, contact_id: int) -> dict[int, str]:
    """Who made each of the contact's consent events that a person made: event id -> actor."""
    entries = audit.entries_about(session, f"contact:{contact_id}", AUTHORED_ACTIONS)
    return {
        int(entry.detail["consent_event"]): entry.actor
        for entry in entries
        if isinstance(entry.detail.get("consent_event"), int)
    }
