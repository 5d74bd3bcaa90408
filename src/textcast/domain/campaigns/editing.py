"""Changing and deleting a campaign before it starts: a draft, or a scheduled campaign whose
start has not come yet.

A scheduled campaign already has its messages (launch wrote them, with their texts, short
links and send times, and checked the quotas and the budget for them). A change returns it
to draft instead of rewriting them: its messages, short links and claim cursor go, and it
is planned and sent (or scheduled) again, through every check of a launch. Deleting it
removes them too. Both lock the campaign row first, so a launch, or the dispatcher starting
a due campaign, waits for them or finds the campaign changed (`lifecycle.start_due_campaigns`
starts only what is still scheduled); a scheduled campaign is never claimed before it
starts, so none of its messages can be on their way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from textcast.domain.campaigns.drafts import (
    TIMED,
    CampaignDraft,
    check_draft,
    set_body_info,
    store_numbers,
)
from textcast.domain.campaigns.queries import get_campaign, refuse_part_of_test
from textcast.domain.errors import Conflict
from textcast.models import (
    Batch,
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    ClaimCursor,
    Link,
    Message,
    utcnow,
)

EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
"""The statuses a campaign may be changed or deleted in (scheduled: until its start)."""
FIELDS = frozenset(f.name for f in dataclasses.fields(CampaignDraft))


@dataclass(frozen=True, slots=True)
class Edited:
    campaign: Campaign
    changed: list[str]
    """The fields whose value changed, in `CampaignDraft`'s order."""
    unscheduled: bool
    """It was scheduled: its messages are gone and it is a draft again."""


@dataclass(frozen=True, slots=True)
class Deleted:
    campaign_id: int
    name: str
    status: CampaignStatus
    messages: int
    """Messages a scheduled campaign had written at launch, deleted with it."""


def editable(campaign: Campaign, now: datetime) -> bool:
    """Whether it may still be changed or deleted (the dashboard shows its buttons so)."""
    if campaign.kind != CampaignKind.MARKETING or campaign.parent_id is not None:
        return False
    if campaign.status == CampaignStatus.DRAFT:
        return True
    return (
        campaign.status == CampaignStatus.SCHEDULED
        and campaign.send_at is not None
        and campaign.send_at > now
    )


def edit_campaign(
    session: Session,
    campaign_id: int,
    changes: Mapping[str, Any],
    default_region: str,
    *,
    now: datetime | None = None,
) -> Edited:
    """Change the fields in `changes` (named as `CampaignDraft`'s); the others keep their value.

    The result is checked exactly as a new draft is (`check_draft`); a time left as it was is
    not refused for having passed meanwhile. `recipients`, when given, replace the numbers.
    """
    unknown = set(changes) - FIELDS
    if unknown:
        raise ValueError(f"not fields of a draft: {sorted(unknown)}")
    now = now or utcnow()
    campaign = _editable(session, campaign_id, now, "changed")
    current = _draft_of(campaign)
    draft = dataclasses.replace(current, **changes)
    kept = None if "recipients" in changes else _numbers(session, campaign.id)
    parsed = check_draft(
        session,
        draft,
        default_region,
        now,
        numbers_kept=kept,
        timed=[name for name in TIMED if name in changes],
    )
    changed = [
        f.name
        for f in dataclasses.fields(CampaignDraft)
        if f.name in changes
        and (f.name == "recipients" or getattr(draft, f.name) != getattr(current, f.name))
    ]
    unscheduled = campaign.status == CampaignStatus.SCHEDULED
    if unscheduled:
        _unlaunch(session, campaign)
    campaign.name = draft.name.strip()
    campaign.body = draft.body
    campaign.sender = draft.sender
    campaign.audience = {"lists": list(draft.list_ids), "segments": list(draft.segment_ids)}
    campaign.smart_encoding = draft.smart_encoding
    campaign.send_at = draft.send_at
    campaign.local_send_time = draft.local_send_time
    campaign.expires_at = draft.expires_at
    campaign.budget = draft.budget
    set_body_info(campaign)
    if parsed is not None:
        session.execute(
            delete(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
        store_numbers(session, campaign.id, parsed.numbers)
        campaign.recipient_count = len(parsed.numbers)
    elif unscheduled:
        campaign.recipient_count = kept or 0
    session.flush()
    return Edited(campaign, changed, unscheduled)


def delete_campaign(session: Session, campaign_id: int, *, now: datetime | None = None) -> Deleted:
    """A draft, or a scheduled campaign before its start, goes with all that belongs to it."""
    campaign = _editable(session, campaign_id, now or utcnow(), "deleted")
    gone = Deleted(campaign.id, campaign.name, campaign.status, _unlaunch(session, campaign))
    session.execute(delete(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id))
    session.delete(campaign)
    session.flush()
    return gone


def _editable(session: Session, campaign_id: int, now: datetime, act: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    if editable(campaign, now):
        return campaign
    refuse_part_of_test(campaign, act)
    if campaign.kind != CampaignKind.MARKETING:
        raise Conflict(f"campaign {campaign_id} is a {campaign.kind} campaign; it cannot be {act}")
    if campaign.status == CampaignStatus.SCHEDULED:
        raise Conflict(
            f"campaign {campaign_id} is starting now; it can no longer be {act} "
            "(pause or cancel it instead)"
        )
    raise Conflict(
        f"campaign {campaign_id} is {campaign.status}; only a draft, or a scheduled campaign "
        f"before its start, can be {act}"
    )


def _unlaunch(session: Session, campaign: Campaign) -> int:
    """Undo a launch that has not started: its messages, short links and claim cursor go.
    Returns the messages deleted (none for a draft)."""
    if campaign.status != CampaignStatus.SCHEDULED:
        return 0
    if session.scalar(select(Batch.id).where(Batch.campaign_id == campaign.id).limit(1)):
        # Never so while scheduled: claims take only sending campaigns' messages.
        raise Conflict(f"campaign {campaign.id} has started sending; it can only be cancelled")
    messages = (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == campaign.id)
        )
        or 0
    )
    session.execute(delete(Message).where(Message.campaign_id == campaign.id))
    session.execute(delete(Link).where(Link.campaign_id == campaign.id))
    session.execute(delete(ClaimCursor).where(ClaimCursor.campaign_id == campaign.id))
    campaign.status = CampaignStatus.DRAFT
    campaign.status_reason = None
    campaign.launched_at = None
    campaign.estimated_cost = None
    campaign.short_links = False
    return messages


def _draft_of(campaign: Campaign) -> CampaignDraft:
    """The campaign as a draft to change (its numbers stand apart: see `_numbers`)."""
    audience = campaign.audience or {}
    return CampaignDraft(
        name=campaign.name,
        body=campaign.body,
        sender=campaign.sender,
        list_ids=list(audience.get("lists", [])),
        segment_ids=list(audience.get("segments", [])),
        smart_encoding=campaign.smart_encoding,
        send_at=campaign.send_at,
        local_send_time=campaign.local_send_time,
        expires_at=campaign.expires_at,
        budget=campaign.budget,
    )


def _numbers(session: Session, campaign_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id)
        )
        or 0
    )
