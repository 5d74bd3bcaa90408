"""Campaigns: create with an audience, launch into the outbox, report progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.domain.audience import segments, suppressions
from textcast.domain.campaigns import planning, queue
from textcast.domain.campaigns.pricing import PRICED_PREFIX_CHARS, priced_country
from textcast.domain.content import encoding, links, templates
from textcast.domain.content.rendering import outgoing
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound, TooManyRequests
from textcast.domain.phones.numbers import parse_numbers
from textcast.models import (
    BATCHES_ON_THEIR_WAY,
    Batch,
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    ClaimCursor,
    Contact,
    ContactList,
    ContactStatus,
    Link,
    Message,
    MessageStatus,
    Segment,
    SkipReason,
    utcnow,
)

MAX_BODY_CHARS = 2000
MAX_NAME_CHARS = 200
FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.ABORTED,
        MessageStatus.CANCELLED,
        MessageStatus.DELETED,
        MessageStatus.UNKNOWN,
        MessageStatus.SKIPPED,
    }
)
_INSERT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    name: str
    body: str
    recipients: Sequence[object] = ()
    sender: str | None = None
    list_ids: Sequence[int] = ()
    segment_ids: Sequence[int] = ()
    smart_encoding: bool = False
    send_at: datetime | None = None
    local_send_time: str | None = None
    """`HH:MM`, in each recipient's time zone."""
    expires_at: datetime | None = None
    budget: float | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    campaign: Campaign
    counts: dict[str, int]
    total: int

    @property
    def final(self) -> int:
        return sum(n for status, n in self.counts.items() if status in FINAL)


def new_reference() -> str:
    return f"tc_{ULID()}"


def create_campaign(
    session: Session,
    draft: CampaignDraft,
    default_region: str,
    kind: CampaignKind = CampaignKind.MARKETING,
    *,
    now: datetime | None = None,
) -> Campaign:
    problems = _check_text(draft)
    parsed = parse_numbers(draft.recipients, "recipients", default_region)
    problems.extend(parsed.problems)
    problems.extend(_check_audience(session, draft))
    problems.extend(_check_schedule(draft, now or utcnow()))
    template = None
    if not any(p.field == "body" for p in problems):
        try:
            template = templates.parse(draft.body)
        except templates.TemplateError as exc:
            problems.extend(exc.problems)
        else:
            if not template.is_static:
                problems.extend(templates.unknown_fields(template, known_fields(session)))
    if problems:
        raise InvalidInput(problems, unlisted=parsed.unlisted_problems)
    campaign = Campaign(
        reference=new_reference(),
        name=draft.name.strip(),
        body=draft.body,
        sender=draft.sender,
        status=CampaignStatus.DRAFT,
        kind=kind,
        encoding="",
        parts=0,
        recipient_count=len(parsed.numbers),
        audience={"lists": list(draft.list_ids), "segments": list(draft.segment_ids)},
        smart_encoding=draft.smart_encoding,
        send_at=draft.send_at,
        local_send_time=draft.local_send_time,
        expires_at=draft.expires_at,
        budget=draft.budget,
        spent=0.0,
    )
    _set_body_info(campaign)
    session.add(campaign)
    session.flush()
    for start in range(0, len(parsed.numbers), _INSERT_CHUNK):
        chunk = parsed.numbers[start : start + _INSERT_CHUNK]
        session.execute(
            insert(CampaignRecipient),
            [{"campaign_id": campaign.id, "phone": phone} for phone in chunk],
        )
    return campaign


def _check_text(draft: CampaignDraft) -> list[FieldProblem]:
    problems = []
    if not draft.name.strip():
        problems.append(FieldProblem("name", "must not be empty"))
    elif len(draft.name) > MAX_NAME_CHARS:
        problems.append(FieldProblem("name", f"at most {MAX_NAME_CHARS} characters"))
    if not draft.body.strip():
        problems.append(FieldProblem("body", "must not be empty"))
    elif len(draft.body) > MAX_BODY_CHARS:
        problems.append(
            FieldProblem("body", f"at most {MAX_BODY_CHARS} characters (Sinch's limit)")
        )
    if draft.sender is not None and not (1 <= len(draft.sender) <= 16):
        problems.append(FieldProblem("sender", "must be 1 to 16 characters"))
    return problems


def _check_audience(session: Session, draft: CampaignDraft) -> list[FieldProblem]:
    if not (draft.recipients or draft.list_ids or draft.segment_ids):
        return [FieldProblem("recipients", "give phone numbers, lists or segments")]
    problems = []
    known_lists = set(
        session.scalars(select(ContactList.id).where(ContactList.id.in_(draft.list_ids)))
    )
    for index, list_id in enumerate(draft.list_ids):
        if list_id not in known_lists:
            problems.append(FieldProblem(f"lists[{index}]", f"no list {list_id}"))
    known_segments = set(
        session.scalars(select(Segment.id).where(Segment.id.in_(draft.segment_ids)))
    )
    for index, segment_id in enumerate(draft.segment_ids):
        if segment_id not in known_segments:
            problems.append(FieldProblem(f"segments[{index}]", f"no segment {segment_id}"))
    return problems


def _set_body_info(campaign: Campaign) -> None:
    """Encoding and parts of the body as written (fields as their defaults or empty)."""
    out = outgoing(campaign.body, campaign.smart_encoding, False)
    sample = out.render({f.key: f.default or "" for f in out.template.fields})
    info = encoding.segment(sample)
    campaign.encoding = info.encoding.value
    campaign.parts = info.parts


def known_fields(session: Session) -> set[str]:
    """Merge fields a body may use: the built-in ones and every contact attribute in use."""
    if session.get_bind().dialect.name == "postgresql":
        keys = session.scalars(
            select(func.jsonb_object_keys(cast(Contact.attributes, JSONB))).distinct()
        )
    else:
        each = func.json_each(Contact.attributes).table_valued("key")
        keys = session.scalars(
            select(each.c.key).select_from(Contact).join(each, true()).distinct()
        )
    return set(templates.BUILT_IN_FIELDS) | set(keys)


def _check_schedule(draft: CampaignDraft, now: datetime) -> list[FieldProblem]:
    problems = []
    if draft.send_at is not None and draft.local_send_time is not None:
        problems.append(FieldProblem("send_at", "give either send_at or local_send_time, not both"))
    if draft.local_send_time is not None:
        try:
            time.fromisoformat(draft.local_send_time)
            if len(draft.local_send_time) != 5:
                raise ValueError
        except ValueError:
            problems.append(FieldProblem("local_send_time", "must be HH:MM, e.g. 10:00"))
    for name, moment in (("send_at", draft.send_at), ("expires_at", draft.expires_at)):
        if moment is not None and moment.tzinfo is None:
            problems.append(
                FieldProblem(name, "must carry a time zone, e.g. 2026-12-01T10:00:00+01:00")
            )
    start = draft.send_at if draft.send_at is not None and draft.send_at.tzinfo else now
    expires = draft.expires_at
    if expires is not None and expires.tzinfo is not None and expires <= start:
        problems.append(FieldProblem("expires_at", "must be after the start"))
    if draft.budget is not None and draft.budget <= 0:
        problems.append(FieldProblem("budget", "must be more than 0"))
    return problems


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def launch_campaign(
    session: Session,
    campaign_id: int,
    policy: planning.Policy | None = None,
    *,
    now: datetime | None = None,
) -> Campaign:
    """Materialise one message per recipient, in the database, then start (or schedule) it.

    A plain body goes straight from the audience query into the outbox (INSERT .. SELECT).
    Personalised bodies, short links, recipient-local send times, a frequency cap or a budget
    need each recipient evaluated: the audience is then streamed through `planning` in chunks.
    """
    campaign = get_campaign(session, campaign_id)
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
    if policy is not None:
        _check_quotas(session, campaign, policy, now)
    campaign.status = CampaignStatus.SCHEDULED if start > now else CampaignStatus.SENDING
    campaign.launched_at = now
    session.merge(ClaimCursor(campaign_id=campaign.id, claimed_through=0))
    return campaign


QUOTA_WINDOW = timedelta(hours=24)


def _check_quotas(
    session: Session, campaign: Campaign, policy: planning.Policy, now: datetime
) -> None:
    """Against SMS pumping: a cap per campaign and per rolling 24 hours (raising rolls back)."""
    if campaign.kind == CampaignKind.REPLY:
        return
    count = campaign.recipient_count
    cap = policy.max_recipients_per_campaign
    if cap and count > cap:
        raise Conflict(
            f"the audience has {count} recipients, above the limit of {cap} per campaign "
            "(MAX_RECIPIENTS_PER_CAMPAIGN); split it or raise the limit"
        )
    quota = policy.daily_recipient_quota
    if not quota:
        return
    if count > quota:
        raise Conflict(
            f"the audience has {count} recipients, above the quota of {quota} per 24 hours "
            "(DAILY_RECIPIENT_QUOTA)"
        )
    # Keyword replies count too (`replies` holds them back once the quota is reached).
    launches = session.execute(
        select(Campaign.launched_at, Campaign.recipient_count)
        .where(Campaign.launched_at >= now - QUOTA_WINDOW, Campaign.id != campaign.id)
        .order_by(Campaign.launched_at)
    ).all()
    used = sum(recipients for _, recipients in launches)
    if used + count <= quota:
        return
    # The quota frees up as launches leave the window: wait for the first moment enough has.
    over = used + count - quota
    retry_after = QUOTA_WINDOW.total_seconds()
    for launched_at, recipients in launches:
        over -= recipients
        if over <= 0 and launched_at is not None:
            retry_after = (launched_at + QUOTA_WINDOW - now).total_seconds()
            break
    raise TooManyRequests(
        f"{used} recipients launched in the last 24 hours; {count} more would pass the quota "
        f"of {quota} (DAILY_RECIPIENT_QUOTA)",
        retry_after,
    )


def recipients_launched_since(session: Session, since: datetime) -> int:
    """Recipients of every campaign launched since then (keyword replies included)."""
    launched = session.scalar(
        select(func.coalesce(func.sum(Campaign.recipient_count), 0)).where(
            Campaign.launched_at >= since
        )
    )
    return int(launched or 0)


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
    base = (policy.short_link_base or "").rstrip("/")
    out = evaluator.out
    codes: dict[str, tuple[str, str]] = {}  # short link -> (code, url)

    def make_link(index: int) -> str:
        code = links.make_code(planning.LINK_CODE_LENGTH)
        link = f"{base}/l/{code}"
        codes[link] = (code, out.urls[index])
        return link

    cost = 0.0
    for chunk in planning.audience_rows(session, campaign, evaluator.attributes):
        codes.clear()
        evaluated = evaluator.evaluate(chunk, make_link if out.urls else None)
        rows = [
            {
                "campaign_id": campaign.id,
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
        cost += sum(one.cost for one in evaluated if not one.excluded)
        inserted = session.execute(insert(Message).returning(Message.phone, Message.id), rows)
        ids = {phone: message_id for phone, message_id in inserted}
        link_rows = [
            {
                "code": code,
                "campaign_id": campaign.id,
                "message_id": ids.get(one.phone),
                "url": url,
                "clicks": 0,
                "unique_clicks": 0,
            }
            for one in evaluated
            if not one.excluded
            for link in (one.values or {}).values()
            if (found := codes.get(link)) is not None
            for code, url in (found,)
        ]
        if link_rows:
            session.execute(insert(Link), link_rows)
    campaign.estimated_cost = cost


def _audience(session: Session, campaign: Campaign) -> Select[Any] | CompoundSelect[Any]:
    """Raw numbers plus subscribed contacts of the lists and segments, once each.

    Opted-out contacts are left out here; the dispatcher checks suppressions again for every
    batch, so a STOP that arrives after launch still wins.
    """
    raw = select(CampaignRecipient.phone.label("phone")).where(
        CampaignRecipient.campaign_id == campaign.id
    )
    if campaign.kind == CampaignKind.REPLY:
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


def campaign_progress(session: Session, campaign_id: int) -> Progress:
    campaign = get_campaign(session, campaign_id)
    rows = session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    return Progress(campaign, counts, sum(counts.values()))


def list_campaigns(
    session: Session, *, before_id: int | None = None, limit: int = 50
) -> list[Campaign]:
    """Newest first; `before_id` pages backwards."""
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    return list(session.scalars(query))


def list_messages(
    session: Session,
    campaign_id: int,
    *,
    status: MessageStatus | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[Message]:
    get_campaign(session, campaign_id)
    query = select(Message).where(Message.campaign_id == campaign_id, Message.id > after_id)
    if status is not None:
        query = query.where(Message.status == status)
    return list(session.scalars(query.order_by(Message.id).limit(limit)))


def complete_finished_campaigns(session: Session) -> list[int]:
    """Mark `sending` campaigns with nothing left to hand to Sinch as completed.

    Nothing left: no queued message past the claim cursor, none deferred, no batch on its way
    (its messages are the `submitting` ones). Each is an index probe, not a walk through
    the messages already sent.
    """
    queued = (
        select(Message.id).where(*queue.unclaimed(Campaign.id, queue.cursor_of(Campaign.id)))
    ).exists()
    deferred = select(Message.id).where(*queue.deferred_of(Campaign.id)).exists()
    on_their_way = (
        select(Batch.id)
        .where(Batch.campaign_id == Campaign.id, Batch.state.in_(BATCHES_ON_THEIR_WAY))
        .exists()
    )
    unsent = or_(queued, deferred, on_their_way)
    done = list(
        session.scalars(
            select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING, ~unsent)
        )
    )
    if done:
        session.execute(
            update(Campaign)
            .where(Campaign.id.in_(done))
            .values(status=CampaignStatus.COMPLETED, completed_at=utcnow())
        )
    return done


# -- controls ------------------------------------------------------------------------------

PAUSABLE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)


def pause_campaign(
    session: Session, campaign_id: int, reason: str = "paused by a user"
) -> Campaign:
    """Stop handing messages to Sinch; batches already in flight finish."""
    campaign = _locked(session, campaign_id)
    if campaign.status not in PAUSABLE:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status}; only a scheduled or sending "
            "campaign can be paused"
        )
    campaign.status = CampaignStatus.PAUSED
    campaign.status_reason = reason
    return campaign


def resume_campaign(session: Session, campaign_id: int, *, now: datetime | None = None) -> Campaign:
    campaign = _locked(session, campaign_id)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; only a paused one resumes")
    if campaign.budget is not None and campaign.spent >= campaign.budget:
        raise Conflict(
            f"campaign {campaign_id} has spent its budget ({campaign.spent:.2f} of "
            f"{campaign.budget:.2f}); raise the budget first"
        )
    start = campaign.send_at
    campaign.status = (
        CampaignStatus.SCHEDULED
        if start is not None and start > (now or utcnow())
        else CampaignStatus.SENDING
    )
    campaign.status_reason = None
    return campaign


def set_budget(session: Session, campaign_id: int, budget: float) -> Campaign:
    campaign = _locked(session, campaign_id)
    if budget <= 0:
        raise InvalidInput([FieldProblem("budget", "must be more than 0")])
    campaign.budget = budget
    return campaign


def cancel_campaign(session: Session, campaign_id: int) -> tuple[Campaign, list[str]]:
    """Nothing more leaves; the provider batch ids to cancel at Sinch are returned.

    Messages not yet handed over are skipped with the reason `cancelled`. Batches Sinch has
    accepted whose messages have no final report yet may still be in Sinch's queue: the
    caller cancels them there (`DELETE /batches/{id}`), and their reports say what was
    stopped in time.
    """
    campaign = _locked(session, campaign_id)
    at_sinch = (
        Message.campaign_id == campaign_id,
        Message.status.in_((MessageStatus.ACCEPTED, MessageStatus.DISPATCHED)),
    )
    with_sinch = select(Message.id).where(*at_sinch).exists()
    # A completed campaign has handed everything over; Sinch may still hold some of it.
    if campaign.status == CampaignStatus.CANCELLED or (
        campaign.status == CampaignStatus.COMPLETED and not session.scalar(select(with_sinch))
    ):
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; nothing left to cancel")
    now = utcnow()
    session.execute(
        update(Message)
        .where(
            Message.campaign_id == campaign_id,
            Message.status.in_((MessageStatus.QUEUED, MessageStatus.DEFERRED)),
        )
        .values(
            status=MessageStatus.SKIPPED,
            error=SkipReason.CANCELLED,
            not_before=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    pending = select(Message.batch_id).where(*at_sinch).distinct()
    provider_ids = [
        batch_id
        for batch_id in session.scalars(
            select(Batch.provider_batch_id).where(
                Batch.id.in_(pending), Batch.provider_batch_id.is_not(None)
            )
        )
        if batch_id
    ]
    campaign.status = CampaignStatus.CANCELLED
    campaign.status_reason = "cancelled by a user"
    campaign.completed_at = now
    return campaign, provider_ids


def duplicate_campaign(session: Session, campaign_id: int) -> Campaign:
    """A new draft with the same body, audience and options."""
    source = get_campaign(session, campaign_id)
    if source.kind != CampaignKind.MARKETING:
        raise Conflict(f"campaign {campaign_id} is a {source.kind} campaign; it cannot be copied")
    copy = _draft_from(
        source,
        f"{source.name} (copy)",
        audience=dict(source.audience),
        local_send_time=source.local_send_time,
        budget=source.budget,
    )
    session.add(copy)
    session.flush()
    session.execute(
        insert(CampaignRecipient).from_select(
            ["campaign_id", "phone"],
            select(literal(copy.id), CampaignRecipient.phone).where(
                CampaignRecipient.campaign_id == source.id
            ),
        )
    )
    copy.recipient_count = (
        session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == copy.id)
        )
        or 0
    )
    return copy


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
    test = _draft_from(source, f"Test of {source.name}", kind=CampaignKind.TEST, recipient_count=1)
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


def _draft_from(source: Campaign, name: str, **options: Any) -> Campaign:
    """A new draft with `source`'s text and sender; `options` set the other columns."""
    return Campaign(
        **{
            "reference": new_reference(),
            "name": name[:MAX_NAME_CHARS],
            "body": source.body,
            "sender": source.sender,
            "status": CampaignStatus.DRAFT,
            "kind": source.kind,
            "encoding": source.encoding,
            "parts": source.parts,
            "smart_encoding": source.smart_encoding,
            "recipient_count": 0,
            "audience": {},
            "spent": 0.0,
            **options,
        }
    )


def start_due_campaigns(session: Session, now: datetime) -> list[int]:
    """Scheduled campaigns whose time has come start sending."""
    due = list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == CampaignStatus.SCHEDULED, Campaign.send_at <= now
            )
        )
    )
    if due:
        session.execute(
            update(Campaign).where(Campaign.id.in_(due)).values(status=CampaignStatus.SENDING)
        )
    return due


def _locked(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign
