"""A campaign's messages one by one, for the page's list and `GET /api/v1/campaigns/{id}/messages`:
filtered by status, skip reason or number, paged by id, each with what its code means, its
cost, and for a missing merge field which fields were missing.

A message's cost is its parts priced as `figures` prices the spend, and only for a message
counted as sent there: a skipped, waiting or refused message cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.campaigns.pricing import PriceTable, priced_country
from textcast.domain.campaigns.queries import family_ids, get_campaign
from textcast.domain.content.templates import TemplateError, parse
from textcast.domain.reporting.analytics import DescribeCode, code_meaning
from textcast.domain.reporting.figures import TAKEN, UNDELIVERED, of_campaigns
from textcast.domain.reporting.variants import variant_labels
from textcast.models import Campaign, Contact, Message, MessageStatus, SkipReason
from textcast.vocabulary import UNSPECIFIED_REASON, describe_skip

MAX_SEARCH_DIGITS = 15
"""E.164 numbers have at most 15 digits."""


@dataclass(frozen=True, slots=True)
class MessageFilter:
    status: MessageStatus | None = None
    reason: str | None = None
    """A skip reason (the skipped message's `error`); `unspecified` for none recorded."""
    number: str | None = None
    """Digits found anywhere in the number (spaces, `+` and dashes ignored)."""


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    phone: str
    status: str
    status_code: int | None
    code_name: str | None
    """What the code means (Sinch's table); `Refused` for a batch its API refused."""
    code_description: str | None
    error: str | None
    reason: str | None
    """A skipped message's reason in words."""
    missing_fields: list[str]
    """For a missing merge field: the fields its contact has no value for (as it is now)."""
    parts: int
    cost: float | None
    """The parts priced, for a message sent; None otherwise."""
    batch_id: str | None
    sent_at: datetime | None
    updated_at: datetime
    variant: str | None = None
    """Under an A/B test: the variant it is part of (`A`..`E`, `rest`); None otherwise."""


def search_digits(text: str) -> str:
    """The digits of a number typed in any form: `+1 (201) 555-0100` is `12015550100`."""
    return re.sub(r"\D", "", text)[:MAX_SEARCH_DIGITS]


def message_rows(
    session: Session,
    campaign_id: int,
    describe_code: DescribeCode,
    prices: PriceTable,
    chosen: MessageFilter = MessageFilter(),
    *,
    after_id: int = 0,
    limit: int = 100,
) -> list[MessageRow]:
    """A page of the campaign's messages in id order, after `after_id`; an A/B test's
    campaign's are its family's (its variants' and its rest's)."""
    get_campaign(session, campaign_id)
    family = family_ids(session, campaign_id)
    query = (
        select(Message, Contact.country)
        .outerjoin(Contact, Contact.phone == Message.phone)
        .where(of_campaigns(Message.campaign_id, family), Message.id > after_id)
    )
    if chosen.status is not None:
        query = query.where(Message.status == chosen.status)
    if chosen.reason is not None:
        query = query.where(Message.status == MessageStatus.SKIPPED)
        if chosen.reason == UNSPECIFIED_REASON:
            query = query.where(Message.error.is_(None))
        else:
            query = query.where(Message.error == chosen.reason)
    digits = search_digits(chosen.number or "")
    if digits:
        query = query.where(Message.phone.contains(digits, autoescape=True))
    found = session.execute(query.order_by(Message.id).limit(limit)).all()
    lacking = [m for m, _ in found if m.status == MessageStatus.SKIPPED and _lacks_field(m)]
    # Each message lacks the fields of its own campaign's text (a variant's, under a test).
    missing: dict[tuple[int, str], list[str]] = {}
    for member in sorted({m.campaign_id for m in lacking}):
        phones = [m.phone for m in lacking if m.campaign_id == member]
        for phone, fields in _missing_fields(
            session, get_campaign(session, member), phones
        ).items():
            missing[member, phone] = fields
    labels = variant_labels(session, campaign_id, family)
    return [
        _row(m, country, describe_code, prices, missing, labels.get(m.campaign_id) or None)
        for m, country in found
    ]


def _lacks_field(message: Message) -> bool:
    return message.error == SkipReason.MISSING_FIELD


def _row(
    m: Message,
    country: str | None,
    describe_code: DescribeCode,
    prices: PriceTable,
    missing: dict[tuple[int, str], list[str]],
    variant: str | None,
) -> MessageRow:
    refused = m.status in UNDELIVERED and m.status_code is None
    name = description = None
    if m.status_code is not None or refused:
        name, description = code_meaning(m.status_code, describe_code)
    sent = m.status in TAKEN and not refused
    cost = m.parts * prices.part_price(priced_country(m.phone, country)) if sent else None
    skipped = m.status == MessageStatus.SKIPPED
    return MessageRow(
        id=m.id,
        phone=m.phone,
        status=m.status,
        status_code=m.status_code,
        code_name=name,
        code_description=description,
        error=m.error,
        reason=describe_skip(m.error or UNSPECIFIED_REASON) if skipped else None,
        missing_fields=missing.get((m.campaign_id, m.phone), []) if skipped else [],
        parts=m.parts,
        cost=None if cost is None else round(cost, 6),
        batch_id=m.batch_id,
        sent_at=m.sent_at,
        updated_at=m.updated_at,
        variant=variant,
    )


def _missing_fields(
    session: Session, campaign: Campaign, phones: list[str]
) -> dict[str, list[str]]:
    """Which merge fields each number's contact lacks, read again from the contact now: the
    skip stored only the reason. A number that is no contact lacks every field without a
    default but its number."""
    if not phones:
        return {}
    try:
        template = parse(campaign.body)
    except TemplateError:
        return {}
    contacts = session.execute(
        select(
            Contact.phone,
            Contact.first_name,
            Contact.last_name,
            Contact.country,
            Contact.attributes,
        ).where(Contact.phone.in_(phones))
    )
    data: dict[str, dict[str, Any]] = {phone: {"phone": phone} for phone in phones}
    for phone, first, last, country, attributes in contacts:
        data[phone] = {
            **(attributes or {}),
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "country": country,
        }
    return {phone: template.missing(values) for phone, values in data.items()}
