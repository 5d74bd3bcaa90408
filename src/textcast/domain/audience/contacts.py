"""Contacts: one per E.164 number, with names, free attributes, country and time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import timezone as number_time_zones
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from textcast.domain.audience import consent, suppressions
from textcast.domain.audience.attributes import MAX_ATTRIBUTES, attribute_problems
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.domain.phones.numbers import InvalidPhone, country_of, normalise_phone
from textcast.models import (
    ConsentEvent,
    ConsentKind,
    Contact,
    ContactList,
    ContactStatus,
    ListMember,
)

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class ContactDraft:
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    country: str | None = None
    time_zone: str | None = None
    consent_evidence: str | None = None


@dataclass(frozen=True, slots=True)
class ContactFilter:
    search: str | None = None
    """Matches the number or a name (case-insensitive, substring)."""
    status: ContactStatus | None = None
    country: str | None = None
    list_id: int | None = None


def time_zone_of(e164: str) -> str | None:
    """The number's time zone when the numbering plan names exactly one."""
    zones = number_time_zones.time_zones_for_number(phonenumbers.parse(e164))
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def create_contact(
    session: Session, draft: ContactDraft, default_region: str, source: str, secret: bytes
) -> Contact:
    """A new contact, subscribed with its evidence, unless the number once said STOP.

    Only the person can take back an opt-out (START); a number whose keyed hash is suppressed
    (even after its contact was erased) comes back unsubscribed, with no opt-in recorded.
    """
    problems = _check(draft)
    try:
        phone = normalise_phone(draft.phone, default_region)
    except InvalidPhone as exc:
        problems.insert(0, FieldProblem("phone", exc.quoting(draft.phone), draft.phone[:40]))
    if problems:
        raise InvalidInput(problems)
    if session.scalar(select(Contact.id).where(Contact.phone == phone)) is not None:
        raise Conflict(f"a contact with this number already exists ({phone[:4]}…)")
    opted_out = bool(suppressions.suppressed_among(session, secret, [phone]))
    contact = Contact(
        phone=phone,
        first_name=draft.first_name,
        last_name=draft.last_name,
        attributes=dict(draft.attributes),
        country=draft.country.upper() if draft.country else country_of(phone),
        time_zone=draft.time_zone or time_zone_of(phone),
        status=ContactStatus.UNSUBSCRIBED if opted_out else ContactStatus.SUBSCRIBED,
    )
    session.add(contact)
    session.flush()
    if opted_out:
        return contact
    session.add(
        ConsentEvent(
            contact_id=contact.id,
            kind=ConsentKind.OPT_IN,
            source=source,
            evidence=draft.consent_evidence,
        )
    )
    consent.announce(session, ConsentKind.OPT_IN, [(contact.id, phone)], source)
    return contact


def _check(draft: ContactDraft) -> list[FieldProblem]:
    problems = []
    for name in ("first_name", "last_name"):
        value = getattr(draft, name)
        if value is not None and len(value) > MAX_NAME:
            problems.append(FieldProblem(name, f"at most {MAX_NAME} characters"))
    problems.extend(attribute_problems(draft.attributes))
    if draft.country is not None and draft.country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(FieldProblem("country", "not an ISO 3166 country code"))
    if draft.time_zone is not None and not _known_time_zone(draft.time_zone):
        problems.append(FieldProblem("time_zone", "not an IANA time zone such as Europe/Paris"))
    return problems


def _known_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id)
    return contact


def find_by_phone(session: Session, phone: str) -> Contact | None:
    """The contact with this E.164 number, if there is one."""
    found: Contact | None = session.scalars(select(Contact).where(Contact.phone == phone)).first()
    return found


def update_contact(session: Session, contact_id: int, changes: dict[str, Any]) -> Contact:
    """Names, attributes (merged; a null value removes a key), country and time zone."""
    contact = get_contact(session, contact_id)
    draft = ContactDraft(
        phone=contact.phone,
        first_name=changes.get("first_name", contact.first_name),
        last_name=changes.get("last_name", contact.last_name),
        attributes=changes.get("attributes") or {},
        country=changes.get("country"),
        time_zone=changes.get("time_zone"),
    )
    problems = _check(draft)
    merged = {**contact.attributes, **draft.attributes}
    attributes = {k: v for k, v in merged.items() if v is not None}
    if len(attributes) > MAX_ATTRIBUTES and not problems:
        problems.append(
            FieldProblem(
                "attributes",
                f"at most {MAX_ATTRIBUTES} attributes per contact: this one would have "
                f"{len(attributes)} (a null value removes one)",
            )
        )
    if problems:
        raise InvalidInput(problems)
    contact.first_name = draft.first_name
    contact.last_name = draft.last_name
    if "attributes" in changes:
        contact.attributes = attributes
    if draft.country is not None:
        contact.country = draft.country.upper()
    if "time_zone" in changes:
        contact.time_zone = draft.time_zone
    return contact


def filtered(query: Select[Any], where: ContactFilter) -> Select[Any]:
    if where.search:
        # autoescape: a `%` or `_` searched for is that character, not LIKE's wildcard.
        term = where.search.strip()
        query = query.where(
            or_(
                Contact.phone.contains(term.replace(" ", ""), autoescape=True),
                Contact.first_name.icontains(term, autoescape=True),
                Contact.last_name.icontains(term, autoescape=True),
            )
        )
    if where.status is not None:
        query = query.where(Contact.status == where.status)
    if where.country is not None:
        query = query.where(Contact.country == where.country.upper())
    if where.list_id is not None:
        members = select(ListMember.contact_id).where(ListMember.list_id == where.list_id)
        query = query.where(Contact.id.in_(members))
    return query


def list_contacts(
    session: Session, where: ContactFilter, *, after_id: int = 0, limit: int = 100
) -> list[Contact]:
    query = filtered(select(Contact).where(Contact.id > after_id), where)
    return list(session.scalars(query.order_by(Contact.id).limit(limit)))


def count_contacts(session: Session, where: ContactFilter) -> int:
    """How many contacts match the filter, on every page together."""
    query = filtered(select(func.count()).select_from(Contact), where)
    return session.scalar(query) or 0


def list_memberships(session: Session, contact_id: int) -> list[ContactList]:
    """The lists the contact is on, by name."""
    return list(
        session.scalars(
            select(ContactList)
            .join(ListMember, ListMember.list_id == ContactList.id)
            .where(ListMember.contact_id == contact_id)
            .order_by(ContactList.name)
        )
    )
