"""Drafts: a campaign as written (name, text, audience, schedule, budget), checked and stored
with its raw numbers; the merge fields a body may use; and the copy of a campaign as a new draft.

`editing` changes and deletes drafts with the same checks (`check_draft`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import cast, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from ulid import ULID

from textcast.domain.campaigns.queries import get_campaign, refuse_part_of_test
from textcast.domain.content import encoding, templates
from textcast.domain.content.rendering import outgoing
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput
from textcast.domain.phones.numbers import ParsedNumbers, parse_numbers
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    Contact,
    ContactList,
    Segment,
    utcnow,
)

MAX_BODY_CHARS = 2000
MAX_NAME_CHARS = 200
_INSERT_CHUNK = 5000
PAST_GRACE = timedelta(minutes=1)
"""A start or expiry this close behind the clock is taken as "now", not refused: the time it
took to fill in the form and reach the server."""
TIMED = ("send_at", "expires_at")
_PAST = {
    "send_at": "is in the past: choose a time from now on, or none to start when it is sent",
    "expires_at": "is in the past: choose a time from now on, or none",
}


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
    parsed = check_draft(session, draft, default_region, now or utcnow())
    campaign = Campaign(
        reference=new_reference(),
        name=draft.name.strip(),
        body=draft.body,
        sender=draft.sender,
        status=CampaignStatus.DRAFT,
        kind=kind,
        encoding="",
        parts=0,
        recipient_count=len(parsed.numbers) if parsed else 0,
        audience={"lists": list(draft.list_ids), "segments": list(draft.segment_ids)},
        smart_encoding=draft.smart_encoding,
        send_at=draft.send_at,
        local_send_time=draft.local_send_time,
        expires_at=draft.expires_at,
        budget=draft.budget,
        spent=0.0,
    )
    set_body_info(campaign)
    session.add(campaign)
    session.flush()
    if parsed:
        store_numbers(session, campaign.id, parsed.numbers)
    return campaign


def check_draft(
    session: Session,
    draft: CampaignDraft,
    default_region: str,
    now: datetime,
    *,
    numbers_kept: int | None = None,
    timed: Collection[str] = TIMED,
) -> ParsedNumbers | None:
    """Every problem of `draft` at once (`InvalidInput`), or its numbers parsed.

    `numbers_kept`: the count of numbers already stored that the draft keeps, when its
    `recipients` are not given again (then they are not parsed, and None is returned).
    `timed`: the times refused when they are past (a change leaves untouched ones alone).
    """
    problems = check_text(draft)
    parsed = None
    unlisted = 0
    if numbers_kept is None:
        parsed = parse_numbers(draft.recipients, "recipients", default_region)
        problems.extend(parsed.problems)
        unlisted = parsed.unlisted_problems
    has_numbers = bool(draft.recipients) if numbers_kept is None else numbers_kept > 0
    problems.extend(_check_audience(session, draft, has_numbers))
    problems.extend(_check_schedule(draft, now, timed))
    if not any(p.field == "body" for p in problems):
        try:
            template = templates.parse(draft.body)
        except templates.TemplateError as exc:
            problems.extend(exc.problems)
        else:
            if not template.is_static:
                problems.extend(templates.unknown_fields(template, known_fields(session)))
    if problems:
        raise InvalidInput(problems, unlisted=unlisted)
    return parsed


def store_numbers(session: Session, campaign_id: int, numbers: Sequence[str]) -> None:
    """A draft's raw numbers (E.164, each once), inserted in chunks."""
    for start in range(0, len(numbers), _INSERT_CHUNK):
        chunk = numbers[start : start + _INSERT_CHUNK]
        session.execute(
            insert(CampaignRecipient),
            [{"campaign_id": campaign_id, "phone": phone} for phone in chunk],
        )


def check_text(draft: CampaignDraft) -> list[FieldProblem]:
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


def _check_audience(
    session: Session, draft: CampaignDraft, has_numbers: bool
) -> list[FieldProblem]:
    if not (has_numbers or draft.list_ids or draft.segment_ids):
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


def set_body_info(campaign: Campaign) -> None:
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


def _check_schedule(
    draft: CampaignDraft, now: datetime, timed: Collection[str]
) -> list[FieldProblem]:
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
        elif name in timed and moment is not None and moment < now - PAST_GRACE:
            problems.append(FieldProblem(name, _PAST[name], moment.isoformat()))
    start = draft.send_at if draft.send_at is not None and draft.send_at.tzinfo else now
    expires = draft.expires_at
    if expires is not None and expires.tzinfo is not None and expires <= start:
        problems.append(FieldProblem("expires_at", "must be after the start"))
    if draft.budget is not None and draft.budget <= 0:
        problems.append(FieldProblem("budget", "must be more than 0"))
    return problems


def duplicate_campaign(session: Session, campaign_id: int) -> Campaign:
    """A new draft with the same body, audience and options."""
    source = get_campaign(session, campaign_id)
    refuse_part_of_test(source, "copied")
    if source.kind != CampaignKind.MARKETING:
        raise Conflict(f"campaign {campaign_id} is a {source.kind} campaign; it cannot be copied")
    copy = draft_from(
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


def draft_from(source: Campaign, name: str, **options: Any) -> Campaign:
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
