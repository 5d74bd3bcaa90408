"""Who gets what, at what cost, when: one pass over a campaign's audience.

The plan (before sending) and the launch (which writes the messages) share this pass, so
what the plan promised is what launch does. It streams the audience from the database in
chunks; the plan keeps counters and a small sample, the launch writes each chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from textcast.domain.audience import segments, suppressions
from textcast.domain.campaigns import send_window
from textcast.domain.campaigns.pricing import PriceTable, priced_country
from textcast.domain.content import compliance, encoding, templates
from textcast.domain.content.links import LINK_FIELD, find_urls
from textcast.domain.content.rendering import Outgoing, link_keys, outgoing
from textcast.domain.phones.zones import RecipientZone, recipient_zone
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    Contact,
    ContactStatus,
    Message,
    MessageStatus,
    SkipReason,
)
from textcast.vocabulary import MARKETING_KINDS
from textcast.wording import money, plural

CHUNK = 5000
_CACHE_LIMIT = 200_000
LINK_CODE_LENGTH = 10
SAMPLE_SIZE = 10


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings a plan and a launch depend on."""

    prices: PriceTable
    rules: send_window.Rules
    send_rate: float
    frequency_cap: int = 0
    frequency_window: timedelta = timedelta(days=7)
    secret: bytes = b""
    short_link_base: str | None = None
    max_recipients_per_campaign: int = 0
    """0: no limit."""
    daily_recipient_quota: int = 0
    """Recipients launched per rolling 24 hours, all campaigns together; 0: no limit."""
    compliance: compliance.Rules | None = None
    """What a marketing text should say (opt-out wording, the brand); None: not checked."""


@dataclass(slots=True)
class Recipient:
    phone: str
    status: str | None
    """The contact's status, None for a number that is not a contact."""
    data: dict[str, Any]
    country: str | None
    time_zone: str | None


@dataclass(slots=True)
class Evaluated:
    phone: str
    excluded: SkipReason | None
    values: dict[str, str] | None
    text: str
    parts: int
    encoding: str
    country: str | None
    cost: float
    not_before: datetime | None
    """Its local send time, or when its send window next opens, if later than the start."""
    zone: RecipientZone | None = None
    """Where it is judged for send windows (marketing only)."""


@dataclass(slots=True)
class CountryCost:
    recipients: int = 0
    parts: int = 0
    cost: float = 0.0


@dataclass(slots=True)
class PlanTotals:
    recipients: int = 0
    excluded: Counter[SkipReason] = field(default_factory=Counter)
    parts: int = 0
    encodings: Counter[str] = field(default_factory=Counter)
    cost: float = 0.0
    by_country: dict[str, CountryCost] = field(default_factory=dict)
    deferred: int = 0
    """Recipients held for their send window (or local send time) at the start."""
    zones: Counter[RecipientZone] = field(default_factory=Counter)
    sample: list[Evaluated] = field(default_factory=list)
    latest_start: datetime | None = None
    invalid_cost: float = 0.0
    """What the numbers left out as invalid (list hygiene) would have cost."""

    def add(self, one: Evaluated) -> None:
        if one.excluded:
            self.excluded[one.excluded] += 1
            if one.excluded is SkipReason.INVALID:
                self.invalid_cost += one.cost
            return
        self.recipients += 1
        self.parts += one.parts
        self.encodings[one.encoding] += 1
        self.cost += one.cost
        where = self.by_country.setdefault(one.country or "??", CountryCost())
        where.recipients += 1
        where.parts += one.parts
        where.cost += one.cost
        if one.zone is not None:
            self.zones[one.zone] += 1
        if one.not_before is not None:
            self.deferred += 1
            if self.latest_start is None or one.not_before > self.latest_start:
                self.latest_start = one.not_before
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(one)


def shortens_links(campaign: Campaign, policy: Policy) -> bool:
    """Whether its URLs go out as short links: decided at launch, foreseen for a draft."""
    if campaign.launched_at is not None:
        return campaign.short_links
    return bool(policy.short_link_base) and bool(find_urls(campaign.body))


class Evaluator:
    """Evaluates recipients of one campaign starting at `start`."""

    def __init__(
        self, session: Session, campaign: Campaign, policy: Policy, start: datetime
    ) -> None:
        self.session = session
        self.campaign = campaign
        self.policy = policy
        self.start = start
        self.out: Outgoing = outgoing(
            campaign.body, campaign.smart_encoding, shortens_links(campaign, policy)
        )
        self.link_keys = link_keys(self.out)
        self.attributes = [
            f.name
            for f in self.out.template.fields
            if f.name not in templates.BUILT_IN_FIELDS and not f.name.startswith(f"{LINK_FIELD}.")
        ]
        """The contact attributes the body uses."""
        self.local_time = _parse_local(campaign.local_send_time)
        self.marketing = campaign.kind in MARKETING_KINDS
        self.capped = capped_numbers(session, policy, start) if self.marketing else frozenset()
        self._static: tuple[str, int, str] | None = None
        self._texts: dict[tuple[str, ...], tuple[str, int, str]] = {}
        self._places: dict[
            tuple[str, str | None, str | None],
            tuple[RecipientZone, datetime | None, SkipReason | None],
        ] = {}
        if self.out.is_static:
            info = encoding.segment(self.out.render({}))
            self._static = (self.out.render({}), info.parts, info.encoding.value)

    def evaluate(
        self, recipients: Sequence[Recipient], make_link: Callable[[int], str] | None = None
    ) -> list[Evaluated]:
        """`make_link(n)` gives a new short link to the body's n-th URL (launch); without it
        (the plan), a placeholder of the same length stands in."""
        suppressed = (
            suppressions.suppressed_among(
                self.session, self.policy.secret, (r.phone for r in recipients)
            )
            if self.marketing and self.policy.secret
            else set()
        )
        return [self._one(r, r.phone in suppressed, make_link) for r in recipients]

    def _text(self, values: dict[str, str]) -> tuple[str, int, str]:
        # Recipients sharing their values (first names repeat) share the text and its count.
        key = tuple(values.values())
        found = self._texts.get(key)
        if found is None:
            text = self.out.render(values)
            info = encoding.segment(text)
            found = (text, info.parts, info.encoding.value)
            if len(self._texts) < _CACHE_LIMIT:
                self._texts[key] = found
        return found

    def _place(
        self, phone: str, country: str | None, time_zone: str | None
    ) -> tuple[RecipientZone, datetime | None, SkipReason | None]:
        """Its zone, when it may first get the text (if later than the start), and why it
        never may (no shared window, or not before the campaign expires)."""
        # With a stored zone, the number only tells the US state: its first 7 digits do.
        key = (phone[:8], country, time_zone) if time_zone else (phone, country, None)
        found = self._places.get(key)
        if found is not None:
            return found
        zone = recipient_zone(phone, country, time_zone)
        not_before, outside = None, None
        try:
            wanted = self.start
            if self.local_time is not None:
                wanted = max(
                    wanted, send_window.local_time_to_utc(zone, self.start, self.local_time)
                )
            allowed = send_window.next_allowed(zone, wanted, self.policy.rules)
        except send_window.NoSendWindow:
            outside = SkipReason.NO_WINDOW
        else:
            if allowed > self.start:
                not_before = allowed
            expires = self.campaign.expires_at
            if expires is not None and allowed >= expires:
                outside = SkipReason.OUTSIDE_WINDOW
        found = (zone, not_before, outside)
        if len(self._places) < _CACHE_LIMIT:
            self._places[key] = found
        return found

    def _links(self, make_link: Callable[[int], str] | None) -> dict[str, str]:
        if make_link is None:
            base = (self.policy.short_link_base or "").rstrip("/")
            placeholder = "x" * (len(base) + len("/l/") + LINK_CODE_LENGTH)
            return dict.fromkeys(self.link_keys, placeholder)
        return {key: make_link(index) for index, key in enumerate(self.link_keys)}

    def _one(
        self, r: Recipient, suppressed: bool, make_link: Callable[[int], str] | None
    ) -> Evaluated:
        country = priced_country(r.phone, r.country)
        excluded = None
        if self.marketing and (suppressed or r.status == ContactStatus.UNSUBSCRIBED):
            excluded = SkipReason.OPTED_OUT
        elif self.marketing and r.status == ContactStatus.INVALID:
            excluded = SkipReason.INVALID
        elif r.phone in self.capped:
            excluded = SkipReason.FREQUENCY_CAP
        links = self._links(make_link) if self.link_keys else None
        values: dict[str, str] | None = {}
        if self._static is not None:
            text, parts, enc = self._static
        else:
            values = self.out.values_for(r.data, links)
            if values is None:
                text, parts, enc = "", 0, ""
                excluded = excluded or SkipReason.MISSING_FIELD
            else:
                text, parts, enc = self._text(values)
        not_before = None
        zone = None
        if self.marketing:
            # Placed by the contact's own country, as the dispatcher places it: the priced
            # one (+1 is the US) would judge a Toronto number in every US time zone.
            zone, not_before, outside = self._place(r.phone, r.country, r.time_zone)
            excluded = excluded or outside
        price = self.policy.prices.part_price(country)
        return Evaluated(
            r.phone,
            excluded,
            values or None,
            text,
            parts,
            enc,
            country,
            parts * price,
            not_before,
            zone,
        )


def audience_rows(
    session: Session, campaign: Campaign, attributes: Sequence[str] = ()
) -> Iterator[list[Recipient]]:
    """The audience (raw numbers and chosen contacts, once each) with contact data, in chunks.

    Unlike launch's SQL path, opted-out and invalid contacts are included (with their status)
    so the plan can count them. Of the attributes, only `attributes` are read, in SQL.
    """
    raw = select(CampaignRecipient.phone.label("phone")).where(
        CampaignRecipient.campaign_id == campaign.id
    )
    phones: Select[Any] | Any = raw
    chosen = segments.audience_condition(session, campaign.audience)
    if chosen is not None and campaign.kind == CampaignKind.MARKETING:
        phones = raw.union(select(Contact.phone.label("phone")).where(chosen))
    audience = phones.subquery()
    query = (
        select(
            audience.c.phone,
            Contact.status,
            Contact.first_name,
            Contact.last_name,
            Contact.country,
            Contact.time_zone,
            *(Contact.attributes[name].as_string() for name in attributes),
        )
        .select_from(audience.outerjoin(Contact, Contact.phone == audience.c.phone))
        .execution_options(stream_results=True, yield_per=CHUNK)
    )
    chunk: list[Recipient] = []
    for phone, status, first, last, country, zone, *values in session.execute(query):
        data: dict[str, Any] = dict(zip(attributes, values, strict=True))
        data.update(phone=phone, first_name=first, last_name=last, country=country)
        chunk.append(Recipient(phone, status, data, country, zone))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def source_count(session: Session, campaign: Campaign) -> int:
    """Audience entries before collapsing numbers given more than once."""
    parts = [select(literal(1).label("one")).where(CampaignRecipient.campaign_id == campaign.id)]
    chosen = segments.audience_condition(session, campaign.audience)
    if chosen is not None and campaign.kind == CampaignKind.MARKETING:
        parts.append(select(literal(1).label("one")).select_from(Contact).where(chosen))
    return session.scalar(select(func.count()).select_from(union_all(*parts).subquery())) or 0


def distinct_count(session: Session, campaign: Campaign) -> int:
    """Distinct numbers of the audience, whatever their contact's status."""
    phones: Select[Any] | Any = select(CampaignRecipient.phone.label("phone")).where(
        CampaignRecipient.campaign_id == campaign.id
    )
    chosen = segments.audience_condition(session, campaign.audience)
    if chosen is not None and campaign.kind == CampaignKind.MARKETING:
        phones = phones.union(select(Contact.phone.label("phone")).where(chosen))
    return session.scalar(select(func.count()).select_from(phones.subquery())) or 0


def capped_numbers(session: Session, policy: Policy, at: datetime) -> frozenset[str]:
    """Numbers that already had `frequency_cap` marketing messages (campaigns and flows
    together) within the window."""
    if policy.frequency_cap <= 0:
        return frozenset()
    since = at - policy.frequency_window
    rows = session.scalars(
        select(Message.phone)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(
            Campaign.kind.in_(MARKETING_KINDS),
            Message.sent_at >= since,
            Message.sent_at.is_not(null()),
        )
        .group_by(Message.phone)
        .having(func.count() >= policy.frequency_cap)
    )
    return frozenset(rows)


@dataclass(frozen=True, slots=True)
class Plan:
    totals: PlanTotals
    audience: int
    """Distinct numbers considered (before exclusions)."""
    start: datetime
    finish: datetime
    seconds: float
    """Sending time at the configured rate, windows aside."""
    warnings: list[str]
    currency: str
    estimate: bool
    budget: float | None
    compliance: list[str] = field(default_factory=list)
    """What the marketing text lacks (opt-out wording, the brand name): advice, not a refusal."""

    @property
    def within_budget(self) -> bool:
        return self.budget is None or self.totals.cost <= self.budget

    @property
    def hygiene_left_out(self) -> int:
        return self.totals.excluded[SkipReason.INVALID]

    @property
    def hygiene_note(self) -> str | None:
        """What list hygiene saves this campaign, in words; None when it leaves nobody out."""
        left_out = self.hygiene_left_out
        if not left_out:
            return None
        return (
            f"{plural(left_out, 'number')} left out as invalid (list hygiene), saving "
            f"{money(self.totals.invalid_cost, self.currency, fine=True)}"
        )

    @property
    def empty(self) -> bool:
        """Nobody would get a message: a launch is refused (`empty_reason` says why)."""
        return self.totals.recipients == 0

    @property
    def empty_reason(self) -> str | None:
        if not self.empty:
            return None
        excluded = {str(reason): n for reason, n in self.totals.excluded.items()}
        return empty_audience(self.audience, excluded)


def part_each_cost(plan: Plan) -> float:
    """What one part more (or less) for every recipient costs: the price of a part saved."""
    return sum(
        where.recipients * where.cost / where.parts
        for where in plan.totals.by_country.values()
        if where.parts
    )


LEFT_OUT: dict[str, str] = {
    SkipReason.OPTED_OUT: "opted out",
    SkipReason.INVALID: "invalid",
    SkipReason.MISSING_FIELD: "missing a merge field",
    SkipReason.FREQUENCY_CAP: "at the frequency cap",
    SkipReason.OUTSIDE_WINDOW: "outside their send window until the expiry",
    SkipReason.NO_WINDOW: "with no send window",
}


def empty_audience(audience: int, left_out: Mapping[str, int]) -> str:
    """Why nobody would get a campaign, in words for its author: the plan shows it, and a
    refused launch answers it. `audience`: distinct numbers, before exclusions."""
    if audience == 0:
        return (
            "the audience is empty: it has no phone numbers, and its lists and segments "
            "have no contacts"
        )
    reasons = ", ".join(
        f"{n:,} {LEFT_OUT.get(reason, reason.replace('_', ' '))}"
        for reason, n in sorted(left_out.items(), key=lambda kv: -kv[1])
        if reason != SkipReason.DUPLICATE  # collapsed, not left out: the others say why
    )
    everyone = "its only number is" if audience == 1 else f"all {audience:,} of its numbers are"
    return f"the audience is empty: {everyone} left out ({reasons})"


def plan(session: Session, campaign: Campaign, policy: Policy, now: datetime) -> Plan:
    """Everything launch would do, counted, priced and timed, without writing anything."""
    start = max(now, campaign.send_at or now)
    evaluator = Evaluator(session, campaign, policy, start)
    totals = PlanTotals()
    distinct = 0
    for chunk in audience_rows(session, campaign, evaluator.attributes):
        distinct += len(chunk)
        for one in evaluator.evaluate(chunk):
            totals.add(one)
    duplicates = source_count(session, campaign) - distinct
    if duplicates > 0:
        totals.excluded[SkipReason.DUPLICATE] += duplicates
    seconds = totals.parts / policy.send_rate if policy.send_rate > 0 else 0.0
    finish = start + timedelta(seconds=seconds)
    if totals.latest_start is not None and totals.latest_start > finish:
        finish = totals.latest_start
    warnings = []
    if not totals.recipients:
        reason = empty_audience(distinct, {str(r): n for r, n in totals.excluded.items()})
        warnings.append(f"{reason[0].upper()}{reason[1:]}: sending is refused.")
    if totals.deferred:
        warnings.append(
            f"{plural(totals.deferred, 'recipient')} "
            f"{'is' if totals.deferred == 1 else 'are'} outside their send window (or before their "
            f"local send time) at the start; they get it when it opens, the last at "
            f"{totals.latest_start:%Y-%m-%d %H:%M} UTC."
        )
    end = start + timedelta(seconds=seconds)
    closing = sum(
        n for zone, n in totals.zones.items() if not send_window.is_allowed(zone, end, policy.rules)
    )
    if closing and seconds > 0:
        warnings.append(
            f"At {policy.send_rate:g} parts/s sending takes until "
            f"{start + timedelta(seconds=seconds):%Y-%m-%d %H:%M} UTC, when the send window of "
            f"{plural(closing, 'recipient')} is closed: whatever is left for them then waits "
            "for the next opening."
        )
    if campaign.budget is not None and totals.cost > campaign.budget:
        warnings.append(
            f"The estimated cost {totals.cost:.2f} {policy.prices.currency} exceeds the "
            f"budget {campaign.budget:.2f}: launching is refused."
        )
    return Plan(
        totals,
        distinct,
        start,
        finish,
        seconds,
        warnings,
        policy.prices.currency,
        policy.prices.estimate,
        campaign.budget,
        compliance_hints(campaign, policy),
    )


def compliance_hints(campaign: Campaign, policy: Policy) -> list[str]:
    """What a marketing campaign's text lacks; keyword replies and tests have rules of their own."""
    if campaign.kind != CampaignKind.MARKETING or policy.compliance is None:
        return []
    return [hint.message for hint in compliance.missing(campaign.body, policy.compliance)]


def message_status(one: Evaluated) -> MessageStatus:
    if one.excluded:
        return MessageStatus.SKIPPED
    return MessageStatus.DEFERRED if one.not_before is not None else MessageStatus.QUEUED


def _parse_local(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)
