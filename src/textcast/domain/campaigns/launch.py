"""Launch: a draft's audience becomes one queued message per recipient (or a scheduled start),
within the quotas and the budget; and a test send of a campaign's text to one number."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, insert, literal, select, union
from sqlalchemy.orm import Session

from textcast.domain import stream
from textcast.domain.audience import segments, suppressions
from textcast.domain.campaigns import planning
from textcast.domain.campaigns.drafts import draft_from
from textcast.domain.campaigns.pricing import PRICED_PREFIX_CHARS, priced_country
from textcast.domain.campaigns.queries import get_campaign
from textcast.domain.campaigns.quotas import check_quotas
from textcast.domain.content import links
from textcast.domain.content.rendering import outgoing
from textcast.domain.errors import Conflict, InvalidInput
from textcast.domain.phones.numbers import parse_numbers
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    ClaimCursor,
    Contact,
    ContactStatus,
    EventType,
    Link,
    Message,
    MessageStatus,
    utcnow,
)
from textcast.vocabulary import CHECKS_OPT_OUTS


def launch_campaign(
    session: Session,
    campaign_id: int,
    policy: planning.Policy | None = None,
    *,
    now: datetime | None = None,
    refuse_empty: bool = True,
) -> Campaign:
    """Materialise one message per recipient, in the database, then start (or schedule) it.

    A plain body goes straight from the audience query into the outbox (INSERT .. SELECT).
    Personalised bodies, short links, recipient-local send times, a frequency cap or a budget
    need each recipient evaluated: the audience is then streamed through `planning` in chunks.
    """
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; only a draft can be sent")
    now = now or utcnow()
    start = max(now, campaign.send_at or now)
    if policy is not None:
        campaign.short_links = planning.shortens_links(campaign, policy)
    if policy is None or _plain(campaign, policy):
        _launch_plain(session, campaign, now)
        if policy is not None:
            campaign.estimated_cost = _estimated_cost(session, campaign, policy)
    else:
        _launch_evaluated(session, campaign, policy, start, now)
    if campaign.budget is not None and (campaign.estimated_cost or 0) > campaign.budget:
        # Everything above is rolled back with the transaction.
        raise Conflict(
            f"budget: the estimated cost {campaign.estimated_cost:.2f} "
            f"{policy.prices.currency if policy else ''} exceeds the budget "
            f"{campaign.budget:.2f}; raise the budget or narrow the audience".replace("  ", " ")
        )
    # Counted, not taken from rowcount: psycopg reports -1 for INSERT .. SELECT here.
    campaign.recipient_count = (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == campaign.id)
        )
        or 0
    )
    if campaign.kind == CampaignKind.MARKETING and refuse_empty:
        _refuse_empty(session, campaign)
    if policy is not None:
        check_quotas(session, campaign, policy, now)
    campaign.status = CampaignStatus.SCHEDULED if start > now else CampaignStatus.SENDING
    campaign.launched_at = now
    session.merge(ClaimCursor(campaign_id=campaign.id, claimed_through=0))
    if campaign.kind == CampaignKind.MARKETING and campaign.parent_id is None:
        announce_start(session, campaign, now)
    return campaign


def announce_start(session: Session, campaign: Campaign, now: datetime) -> None:
    """`campaign.started`: once per campaign a marketer launched (an A/B test's own, not
    its variants')."""
    data = {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "recipients": campaign.recipient_count,
        "started_at": stream.timestamp(now),
    }
    stream.record(session, EventType.CAMPAIGN_STARTED, data, at=now)


def _refuse_empty(session: Session, campaign: Campaign) -> None:
    """A launch that would send nothing is refused (it would only ever say "completed").

    Its messages are written, skipped ones included: if all are skipped, or there are none
    (the SQL path leaves opted-out contacts out), nobody would get it.
    """
    skipped: dict[str | None, int] = {
        error: n
        for error, n in session.execute(
            select(Message.error, func.count())
            .where(Message.campaign_id == campaign.id, Message.status == MessageStatus.SKIPPED)
            .group_by(Message.error)
        )
    }
    if campaign.recipient_count > sum(skipped.values()):
        return
    left_out: dict[str, int] = {str(reason): n for reason, n in skipped.items() if reason}
    audience = campaign.recipient_count or planning.distinct_count(session, campaign)
    if audience and not left_out:
        # The SQL path leaves contacts who are not subscribed out instead of skipping them.
        left_out["opted_out_or_invalid"] = audience
    raise Conflict(
        f"campaign {campaign.id} cannot be sent: {planning.empty_audience(audience, left_out)}"
    )


def test_send(
    session: Session, campaign_id: int, phone: object, default_region: str, policy: planning.Policy
) -> Campaign:
    """Send the campaign's text, rendered for this number's contact, to that one number now.

    It goes as its own one-recipient campaign (kind `test`), so it never counts in the
    campaign's figures, and it respects opt-outs like any marketing message.
    """
    source = get_campaign(session, campaign_id)
    parsed = parse_numbers([phone], "phone", default_region)
    if parsed.problems:
        raise InvalidInput(parsed.problems)
    number = parsed.numbers[0]
    if suppressions.suppressed_among(session, policy.secret, [number]) or session.scalar(
        select(Contact.id).where(
            Contact.phone == number, Contact.status != ContactStatus.SUBSCRIBED
        )
    ):
        raise Conflict(f"phone: {number} has opted out; a test is not sent to it")
    test = draft_from(source, f"Test of {source.name}", kind=CampaignKind.TEST, recipient_count=1)
    session.add(test)
    session.flush()
    session.execute(insert(CampaignRecipient).values(campaign_id=test.id, phone=number))
    launched = launch_campaign(session, test.id, policy)
    skipped = session.scalar(
        select(Message.error).where(
            Message.campaign_id == test.id, Message.status == MessageStatus.SKIPPED
        )
    )
    if skipped is not None:
        raise Conflict(f"phone: the test cannot be sent to {number} ({skipped})")
    return launched


def _plain(campaign: Campaign, policy: planning.Policy) -> bool:
    return (
        outgoing(campaign.body, campaign.smart_encoding, campaign.short_links).is_static
        and campaign.local_send_time is None
        and campaign.budget is None
        and (policy.frequency_cap <= 0 or campaign.kind != CampaignKind.MARKETING)
    )


def _launch_plain(session: Session, campaign: Campaign, now: datetime) -> None:
    audience = _audience(session, campaign).subquery()
    rows = select(
        literal(campaign.id),
        audience.c.phone,
        literal(MessageStatus.QUEUED.value),
        literal(campaign.parts),
        literal(now, type_=Message.created_at.type),
        literal(now, type_=Message.updated_at.type),
    )
    session.execute(
        insert(Message).from_select(
            ["campaign_id", "phone", "status", "parts", "created_at", "updated_at"], rows
        )
    )


def _estimated_cost(session: Session, campaign: Campaign, policy: planning.Policy) -> float:
    """Priced as the plan and the budget price it (`priced_country`): one query grouped by
    contact country and calling code, whatever the audience's size."""
    prefix = func.substr(Message.phone, 1, PRICED_PREFIX_CHARS)
    rows = session.execute(
        select(Contact.country, prefix, func.sum(Message.parts))
        .select_from(Message)
        .outerjoin(Contact, Contact.phone == Message.phone)
        .where(Message.campaign_id == campaign.id)
        .group_by(Contact.country, prefix)
    )
    return sum(
        int(parts or 0) * policy.prices.part_price(priced_country(phone_prefix, country))
        for country, phone_prefix, parts in rows
    )


def _launch_evaluated(
    session: Session, campaign: Campaign, policy: planning.Policy, start: datetime, now: datetime
) -> None:
    evaluator = planning.Evaluator(session, campaign, policy, start)
    short_links = ShortLinks(policy.short_link_base, evaluator.out.urls)
    cost = 0.0
    for chunk in planning.audience_rows(session, campaign, evaluator.attributes):
        evaluated = evaluator.evaluate(chunk, short_links.maker)
        cost += sum(one.cost for one in evaluated if not one.excluded)
        rows = message_rows(campaign.id, evaluated, now)
        inserted = session.execute(insert(Message).returning(Message.phone, Message.id), rows)
        ids = {phone: message_id for phone, message_id in inserted}
        short_links.write(session, campaign.id, evaluated, ids)
    campaign.estimated_cost = cost


def message_rows(
    campaign_id: int, evaluated: list[planning.Evaluated], now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of evaluated recipients: queued, deferred to their window, or
    skipped with the reason (launch's and a flow step's alike)."""
    return [
        {
            "campaign_id": campaign_id,
            "phone": one.phone,
            "status": planning.message_status(one),
            "parts": one.parts,
            "variables": None if one.excluded else one.values,
            "not_before": one.not_before,
            "error": one.excluded,
            "created_at": now,
            "updated_at": now,
        }
        for one in evaluated
    ]


class ShortLinks:
    """New short links for a body's URLs, one per recipient and URL (`maker`, given to the
    evaluator), kept until `write` stores them tied to their messages."""

    def __init__(self, base: str | None, urls: Sequence[str]) -> None:
        self._base = (base or "").rstrip("/")
        self._urls = urls
        self._codes: dict[str, tuple[str, str]] = {}
        """Each short link given out: its code and the URL it stands for."""

    @property
    def maker(self) -> Callable[[int], str] | None:
        """What `Evaluator.evaluate` takes: None when the body has no URL to shorten."""
        return self._make if self._urls else None

    def _make(self, index: int) -> str:
        code = links.make_code(planning.LINK_CODE_LENGTH)
        link = f"{self._base}/l/{code}"
        self._codes[link] = (code, self._urls[index])
        return link

    def write(
        self,
        session: Session,
        campaign_id: int,
        evaluated: list[planning.Evaluated],
        message_ids: dict[str, int],
    ) -> None:
        """The `links` rows of the links given to these recipients, then forget them."""
        rows = [
            {
                "code": code,
                "campaign_id": campaign_id,
                "message_id": message_ids.get(one.phone),
                "url": url,
                "clicks": 0,
                "unique_clicks": 0,
            }
            for one in evaluated
            if not one.excluded
            for link in (one.values or {}).values()
            if (found := self._codes.get(link)) is not None
            for code, url in (found,)
        ]
        self._codes.clear()
        if rows:
            session.execute(insert(Link), rows)


def audience_count(session: Session, campaign: Campaign) -> int:
    """How many messages launch would write for this draft now: its numbers and the subscribed
    contacts of its lists and segments, once each (the recipients a list shows for a draft)."""
    audience = _audience(session, campaign).subquery()
    return int(session.scalar(select(func.count()).select_from(audience)) or 0)


def audience_members(session: Session, campaign: Campaign) -> list[tuple[str, str | None]]:
    """Who launch would text now, each once, with the country its texts are priced as."""
    audience = _audience(session, campaign).subquery()
    rows = session.execute(
        select(audience.c.phone, Contact.country).outerjoin(
            Contact, Contact.phone == audience.c.phone
        )
    )
    return [(phone, priced_country(phone, country)) for phone, country in rows]


def _audience(session: Session, campaign: Campaign) -> Select[Any] | CompoundSelect[Any]:
    """Raw numbers plus subscribed contacts of the lists and segments, once each.

    Opted-out contacts are left out here; the dispatcher checks suppressions again for every
    batch, so a STOP that arrives after launch still wins.
    """
    raw = select(CampaignRecipient.phone.label("phone")).where(
        CampaignRecipient.campaign_id == campaign.id
    )
    if campaign.kind not in CHECKS_OPT_OUTS:
        return raw  # the confirmation of a STOP goes to the number that just opted out
    opted_out = select(Contact.phone).where(Contact.status != ContactStatus.SUBSCRIBED)
    raw = raw.where(CampaignRecipient.phone.not_in(opted_out))
    chosen = segments.audience_condition(session, campaign.audience)
    if chosen is None:
        return raw
    contacts = select(Contact.phone.label("phone")).where(
        Contact.status == ContactStatus.SUBSCRIBED, chosen
    )
    return union(raw, contacts)
