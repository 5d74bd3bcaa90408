"""Campaigns: create with an audience, launch into the outbox, report progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.domain import encoding, segments
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.domain.phones import parse_numbers
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    Contact,
    ContactList,
    ContactStatus,
    ListMember,
    Message,
    MessageStatus,
    Segment,
    utcnow,
)

MAX_BODY_CHARS = 2000
MAX_NAME_CHARS = 200
# Statuses a campaign still has to send; the rest were handed over or settled.
UNSENT = (MessageStatus.QUEUED, MessageStatus.SUBMITTING)
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
) -> Campaign:
    problems = _check_text(draft)
    parsed = parse_numbers(draft.recipients, "recipients", default_region)
    problems.extend(parsed.problems)
    problems.extend(_check_audience(session, draft))
    if problems:
        raise InvalidInput(problems)
    info = encoding.segment(draft.body)
    campaign = Campaign(
        reference=new_reference(),
        name=draft.name.strip(),
        body=draft.body,
        sender=draft.sender,
        status=CampaignStatus.DRAFT,
        kind=kind,
        encoding=info.encoding.value,
        parts=info.parts,
        recipient_count=len(parsed.numbers),
        audience={"lists": list(draft.list_ids), "segments": list(draft.segment_ids)},
    )
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


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    return campaign


def launch_campaign(session: Session, campaign_id: int) -> Campaign:
    """Materialise one queued message per recipient, in the database, then start sending."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; only a draft can be sent")
    now = utcnow()
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
    # Counted, not taken from rowcount: psycopg reports -1 for INSERT .. SELECT here.
    campaign.recipient_count = (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == campaign.id)
        )
        or 0
    )
    campaign.status = CampaignStatus.SENDING
    campaign.launched_at = now
    return campaign


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
    chosen: list[ColumnElement[bool]] = []
    if list_ids := campaign.audience.get("lists"):
        chosen.append(
            Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids)))
        )
    for segment_id in campaign.audience.get("segments") or []:
        chosen.append(segments.condition_sql(segments.get_segment(session, segment_id).rules))
    contacts = select(Contact.phone.label("phone")).where(
        Contact.status == ContactStatus.SUBSCRIBED, or_(false(), *chosen)
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
    """Mark `sending` campaigns with nothing left to hand to Sinch as completed."""
    unsent = (
        select(Message.id)
        .where(Message.campaign_id == Campaign.id, Message.status.in_(UNSENT))
        .exists()
    )
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
