"""A number's consent record, as a carrier's audit asks for it: where its marketing and
transactional consent stand, every consent event with who or what made it, and, for the events
that rest on a sign-up, that sign-up's evidence in full (the disclosure shown, where, when, from
which address and browser, the reply that confirmed it). The number's sign-ups that are not
consent (yet) come with it: pending, expired or cancelled.

Events are read in pages (`ledger_page`), each page's sign-ups, texts and authors in one query
apiece, so that an export of everyone's ledger never holds a whole table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.audience import consent
from textcast.domain.audience.contacts import get_contact
from textcast.models import (
    AuditEntry,
    ConsentEvent,
    Contact,
    ContactStatus,
    InboundMessage,
    ListKeyword,
    Signup,
    SignupForm,
    SignupStatus,
    utcnow,
)

MARKETING_STATES = {
    ContactStatus.SUBSCRIBED: "confirmed",
    ContactStatus.UNSUBSCRIBED: "opted_out",
    ContactStatus.INVALID: "invalid",
}
"""A contact's marketing consent in the record's words: `subscribed` is confirmed consent."""
NOT_CONSENT = (SignupStatus.PENDING, SignupStatus.EXPIRED, SignupStatus.CANCELLED)


def marketing_state(status: ContactStatus | str) -> str:
    return MARKETING_STATES[ContactStatus(status)]


def consent_state(contact: Contact) -> dict[str, str | bool]:
    """`{"marketing": "confirmed", "transactional": true}`: a contact's consent at a glance."""
    return {
        "marketing": marketing_state(contact.status),
        "transactional": contact.transactional_consent,
    }


@dataclass(frozen=True, slots=True)
class SignupEvidence:
    """A sign-up as it was stored: what the person was shown and sent, and how it ended."""

    id: int
    channel: str
    status: str
    list_id: int | None
    form_id: int | None
    form_name: str | None
    form_slug: str | None
    keyword: str | None
    """The list keyword the person texted (a keyword sign-up)."""
    disclosure: str | None
    """The exact consent text shown (a form's), or the keyword message (a keyword's)."""
    disclosure_version: int | None
    page_url: str | None
    referer: str | None
    origin: str | None
    ip: str | None
    user_agent: str | None
    language: str | None
    fields: dict[str, Any]
    submitted_at: datetime
    expires_at: datetime | None
    confirmed_at: datetime | None
    confirmation_inbound_id: int | None
    confirmation_received_at: datetime | None
    keyword_inbound_id: int | None
    keyword_received_at: datetime | None
    held: str | None
    """Why no confirmation text went out, or why it was cancelled."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One consent event with everything that proves it."""

    id: int
    contact_id: int
    phone: str
    kind: str
    purpose: str
    source: str
    created_at: datetime
    evidence: str | None
    keyword: str | None
    inbound_message_id: int | None
    inbound_received_at: datetime | None
    by: str | None
    """Who made it through the API or the dashboard; None for a person's own text, a sign-up,
    an import or the command line (the source says which)."""
    signup: SignupEvidence | None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    contact_id: int
    phone: str
    marketing: str
    """`confirmed`, `opted_out` or `invalid` (see `MARKETING_STATES`)."""
    transactional: bool
    ledger: list[LedgerEntry]
    """Oldest first."""
    pending_signups: int
    """Sign-ups of the number waiting for the person's "Y": consent asked, not given yet."""
    signups: list[SignupEvidence]
    """The number's sign-ups that are not consent (yet): pending, expired, cancelled; newest
    first."""


def consent_record(session: Session, contact_id: int) -> ConsentRecord:
    contact = get_contact(session, contact_id)
    events = consent.history(session, contact.id)
    others = signups_not_consent(session, contact.phone)
    return ConsentRecord(
        contact_id=contact.id,
        phone=contact.phone,
        marketing=marketing_state(contact.status),
        transactional=contact.transactional_consent,
        ledger=_entries(session, [(event, contact.phone) for event in events]),
        pending_signups=sum(1 for s in others if s.status == SignupStatus.PENDING),
        signups=others,
    )


def signups_not_consent(session: Session, phone: str) -> list[SignupEvidence]:
    found = session.scalars(
        select(Signup)
        .where(Signup.phone == phone, Signup.status.in_(NOT_CONSENT))
        .order_by(Signup.submitted_at.desc(), Signup.id.desc())
    )
    return _evidence(session, list(found))


def ledger_page(
    session: Session, *, after_id: int = 0, since: datetime | None = None, limit: int = 500
) -> list[LedgerEntry]:
    """Everyone's consent events after `after_id` (and from `since` on), in id order."""
    query = (
        select(ConsentEvent, Contact.phone)
        .join(Contact, Contact.id == ConsentEvent.contact_id)
        .where(ConsentEvent.id > after_id)
    )
    if since is not None:
        query = query.where(ConsentEvent.created_at >= since)
    rows = session.execute(query.order_by(ConsentEvent.id).limit(limit)).all()
    return _entries(session, [(event, phone) for event, phone in rows])


def _entries(session: Session, rows: Sequence[tuple[ConsentEvent, str]]) -> list[LedgerEntry]:
    if not rows:
        return []
    signup_ids = {e.signup_id for e, _ in rows if e.signup_id is not None}
    signups = {
        s.id: s
        for s in _evidence(
            session, list(session.scalars(select(Signup).where(Signup.id.in_(signup_ids))))
        )
    }
    received = _received_at(session, (e.inbound_message_id for e, _ in rows))
    by = _authors(session, {e.contact_id for e, _ in rows})
    return [
        LedgerEntry(
            id=event.id,
            contact_id=event.contact_id,
            phone=phone,
            kind=str(event.kind),
            purpose=str(event.purpose),
            source=event.source,
            created_at=event.created_at,
            evidence=event.evidence,
            keyword=event.keyword,
            inbound_message_id=event.inbound_message_id,
            inbound_received_at=received.get(event.inbound_message_id or 0),
            by=by.get(event.id),
            signup=signups.get(event.signup_id or 0),
        )
        for event, phone in rows
    ]


def _evidence(session: Session, found: list[Signup]) -> list[SignupEvidence]:
    if not found:
        return []
    forms = {
        form_id: (name, slug)
        for form_id, name, slug in session.execute(
            select(SignupForm.id, SignupForm.name, SignupForm.slug).where(
                SignupForm.id.in_({s.form_id for s in found if s.form_id is not None})
            )
        ).all()
    }
    words = dict(
        session.execute(
            select(ListKeyword.id, ListKeyword.word).where(
                ListKeyword.id.in_({s.keyword_id for s in found if s.keyword_id is not None})
            )
        ).all()
    )
    texts = [s.confirmation_inbound_id for s in found] + [s.keyword_inbound_id for s in found]
    received = _received_at(session, texts)
    now = utcnow()
    return [
        SignupEvidence(
            id=s.id,
            channel=str(s.channel),
            status=_status(s, now),
            list_id=s.list_id,
            form_id=s.form_id,
            form_name=forms.get(s.form_id or 0, (None, None))[0],
            form_slug=forms.get(s.form_id or 0, (None, None))[1],
            keyword=words.get(s.keyword_id or 0),
            disclosure=s.disclosure,
            disclosure_version=s.disclosure_version,
            page_url=s.page_url,
            referer=s.referer,
            origin=s.origin,
            ip=s.ip,
            user_agent=s.user_agent,
            language=s.language,
            fields=dict(s.fields or {}),
            submitted_at=s.submitted_at,
            expires_at=s.expires_at,
            confirmed_at=s.confirmed_at,
            confirmation_inbound_id=s.confirmation_inbound_id,
            confirmation_received_at=received.get(s.confirmation_inbound_id or 0),
            keyword_inbound_id=s.keyword_inbound_id,
            keyword_received_at=received.get(s.keyword_inbound_id or 0),
            held=s.confirmation_held,
        )
        for s in found
    ]


def _status(signup: Signup, now: datetime) -> str:
    """A pending sign-up past its time is expired, even before the sweep marks it so."""
    late = signup.expires_at is not None and signup.expires_at <= now
    if signup.status == SignupStatus.PENDING and late:
        return SignupStatus.EXPIRED.value
    return str(signup.status)


def _received_at(session: Session, ids: Iterable[int | None]) -> dict[int, datetime]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(InboundMessage.id, InboundMessage.received_at).where(
                InboundMessage.id.in_(wanted)
            )
        ).all()
    )


def _authors(session: Session, contact_ids: set[int]) -> dict[int, str]:
    """Who made each event a person made, for these contacts: event id -> actor."""
    targets = [f"contact:{contact_id}" for contact_id in sorted(contact_ids)]
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action.in_(consent.AUTHORED_ACTIONS),
            AuditEntry.target.in_(targets),
        )
    )
    return {
        int(entry.detail["consent_event"]): entry.actor
        for entry in entries
        if isinstance(entry.detail.get("consent_event"), int)
    }
