"""A campaign's figures, defined once: how many messages are at each stage, their parts and
what they cost. The campaign page, the campaign list, the API and `textcast campaigns status`
all read them from here.

Every message of a launched campaign is at exactly one stage of the funnel:

- skipped: never sent (opted out, invalid, a merge field without value, the campaign
  cancelled...; its reason is in `error`).
- waiting: still ours to send: queued, deferred (held by the recipient's send window or local
  send time) or submitting (in a batch on its way to Sinch, whose answer we do not have yet).
- refused: Sinch's API refused its batch at submission (status `failed` without a delivery
  code: every delivery report carries one). Never sent.
- sent: Sinch took it (answered 201). A sent message is then
  - with Sinch: no final outcome yet (accepted or dispatched),
  - delivered,
  - or not delivered: another final outcome (failed, expired, rejected, aborted, cancelled,
    deleted, unknown).

So messages = skipped + waiting + refused + sent, and sent = with Sinch + delivered + not
delivered. A message is final once skipped, refused, delivered or not delivered. The parts sent
and the spend are those of the very messages counted as sent: the spend is their parts priced
by the price table, as the plan and the budget price them (`pricing.priced_country`).

Each campaign's figures come from ONE statement, so they agree with each other at every
instant. A campaign under A/B test sends nothing itself: its figures are those of its family,
itself and the campaigns under it (each variant's share of the test pool and the rest), read
together in that one statement, so they are the sum of its parts'.

(The campaign's budget ledger, `campaigns.spent`, is another thing: what screening
reserved for messages on their way, before Sinch answers; a budget pauses against it.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from textcast.domain.campaigns.pricing import PRICED_PREFIX_CHARS, PriceTable, priced_country
from textcast.domain.campaigns.queries import family_ids
from textcast.models import Campaign, Contact, Message, MessageStatus
from textcast.vocabulary import OUTCOMES as OUTCOMES
from textcast.vocabulary import UNDELIVERED as UNDELIVERED

WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SUBMITTING)
IN_FLIGHT = (MessageStatus.ACCEPTED, MessageStatus.DISPATCHED)
TAKEN = (*IN_FLIGHT, *OUTCOMES)
"""Statuses of messages Sinch took, refused ones apart (told by their missing code)."""

STAGES: dict[str, str] = {
    "messages": "Every message of the campaign: one per recipient, written at launch.",
    "skipped": "Never sent: opted out, invalid, a merge field without value, cancelled...",
    "waiting": "Still ours to send: queued, held by a send window, or being handed to Sinch.",
    "refused": "Refused by Sinch's API at submission, so never sent.",
    "sent": "Taken by Sinch: with Sinch, delivered or not delivered.",
    "with_sinch": "Sent, no final outcome yet (accepted or dispatched).",
    "delivered": "Sent and delivered to the handset.",
    "not_delivered": "Sent, with another final outcome (failed, expired, rejected...).",
    "final": "Nothing more will happen to it: skipped, refused, delivered or not delivered.",
    "parts_planned": "SMS parts of every message not skipped.",
    "parts_sent": "SMS parts of the messages counted as sent.",
    "spent": "The parts sent, priced by the price table (an estimate: Sinch's invoice is the "
    "truth).",
}
"""Each figure in a sentence: the API's field descriptions and the page's tooltips."""


@dataclass(frozen=True, slots=True)
class Figures:
    """One campaign's funnel, parts and spend, read in one statement."""

    messages: int
    skipped: int
    waiting: int
    refused: int
    sent: int
    with_sinch: int
    delivered: int
    not_delivered: int
    parts_planned: int
    parts_sent: int
    spent: float
    by_status: dict[str, int] = field(default_factory=dict)
    """Messages per status, as stored (refused ones are among `failed`)."""
    parts_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> int:
        return self.skipped + self.refused + self.delivered + self.not_delivered

    @property
    def outcomes(self) -> int:
        """Messages with a final delivery outcome, refused ones included."""
        return self.refused + self.delivered + self.not_delivered

    @property
    def delivery_rate(self) -> float | None:
        return delivery_rate(self.delivered, self.outcomes)

    def count(self, *statuses: MessageStatus) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)


def delivery_rate(delivered: int, outcomes: int) -> float | None:
    """Delivered among final outcomes; None before the first outcome."""
    return delivered / outcomes if outcomes else None


def campaign_figures(session: Session, campaign_id: int, prices: PriceTable) -> Figures:
    """The campaign's figures, from one statement over its messages (and their contacts'
    countries, for the price); an A/B test's campaign's are its family's (`family_ids`)."""
    return family_figures(session, family_ids(session, campaign_id), prices)


def family_figures(session: Session, family: Sequence[int], prices: PriceTable) -> Figures:
    """The figures of the messages of these campaigns together, from one statement."""
    return _tally(_rows(session, of_campaigns(Message.campaign_id, family))).priced(prices)


def of_campaigns(column: InstrumentedAttribute[Any], family: Sequence[int]) -> ColumnElement[bool]:
    """`column` (a campaign id) is one of `family`: a campaign alone is compared with `=`, so
    an ordinary campaign's statements are the very ones they were before A/B tests."""
    if len(family) == 1:
        return column == family[0]
    return column.in_(family)


def spent_on_campaigns_launched_since(
    session: Session, since: datetime, prices: PriceTable
) -> float:
    """What the campaigns launched since `since` spent, as each campaign's `spent` says it
    (its sent parts at the price table), so the overview's total is the sum of the pages'."""
    launched = select(Campaign.id).where(Campaign.launched_at >= since)
    return _tally(_rows(session, Message.campaign_id.in_(launched))).priced(prices).spent


def _rows(
    session: Session, *where: ColumnElement[bool]
) -> Iterator[tuple[str, bool, str | None, str, int, int]]:
    refused = Message.status_code.is_(None)
    prefix = func.substr(Message.phone, 1, PRICED_PREFIX_CHARS)
    rows = session.execute(
        select(
            Message.status, refused, Contact.country, prefix, func.count(), func.sum(Message.parts)
        )
        .select_from(Message)
        .outerjoin(Contact, Contact.phone == Message.phone)
        .where(*where)
        .group_by(Message.status, refused, Contact.country, prefix)
    )
    return (
        (str(status), bool(no_code), country, phone_prefix, int(n), int(parts or 0))
        for status, no_code, country, phone_prefix, n, parts in rows
    )


@dataclass(slots=True)
class _Tally:
    messages: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    parts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: int = 0
    refused_parts: int = 0
    sent_parts_by_country: dict[str | None, int] = field(default_factory=lambda: defaultdict(int))

    def priced(self, prices: PriceTable) -> Figures:
        def count(statuses: Iterable[MessageStatus]) -> int:
            return sum(self.messages.get(s, 0) for s in statuses)

        taken = count(TAKEN)
        skipped = self.messages.get(MessageStatus.SKIPPED, 0)
        spent = sum(n * prices.part_price(c) for c, n in self.sent_parts_by_country.items())
        return Figures(
            messages=sum(self.messages.values()),
            skipped=skipped,
            waiting=count(WAITING),
            refused=self.refused,
            sent=taken - self.refused,
            with_sinch=count(IN_FLIGHT),
            delivered=count([MessageStatus.DELIVERED]),
            not_delivered=count(UNDELIVERED) - self.refused,
            parts_planned=sum(n for s, n in self.parts.items() if s != MessageStatus.SKIPPED),
            parts_sent=sum(self.sent_parts_by_country.values()),
            spent=round(spent, 6),
            by_status=dict(self.messages),
            parts_by_status=dict(self.parts),
        )


def _tally(rows: Iterable[tuple[str, bool, str | None, str, int, int]]) -> _Tally:
    """Tally rows of (status, has no code, contact country, number prefix, messages, parts)."""
    tally = _Tally()
    for status, no_code, country, prefix, n, parts in rows:
        tally.messages[status] += n
        tally.parts[status] += parts
        if status in UNDELIVERED and no_code:
            tally.refused += n
            tally.refused_parts += parts
        elif status in TAKEN:
            tally.sent_parts_by_country[priced_country(prefix, country)] += parts
    return tally
