"""A launched campaign's life: scheduled campaigns start when due, sending ones complete when
nothing is left, and the controls a user has (pause, resume, budget, cancel)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from textcast.domain import stream
from textcast.domain.campaigns import queue
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import (
    BATCHES_ON_THEIR_WAY,
    Batch,
    Campaign,
    CampaignKind,
    CampaignStatus,
    EventType,
    Message,
    MessageStatus,
    SkipReason,
    utcnow,
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
    if not due:
        return []
    # Only what is still scheduled: one changed or deleted meanwhile (it held its row's lock,
    # `editing`) is a draft again, or gone. PostgreSQL reads the condition again once the
    # lock is released.
    return list(
        session.scalars(
            update(Campaign)
            .where(Campaign.id.in_(due), Campaign.status == CampaignStatus.SCHEDULED)
            .values(status=CampaignStatus.SENDING)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        )
    )


FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.FAILED)

FLOW_DAY_OPEN = timedelta(hours=25)
"""A flow step's campaign takes texts through its UTC day (`flows.engine`): it is never
completed before it is this old, so no text lands in a completed campaign."""


def complete_finished_campaigns(session: Session, now: datetime | None = None) -> list[int]:
    """Mark `sending` campaigns with nothing left to hand to Sinch as completed.

    Nothing left: no queued message past the claim cursor, none deferred, no batch on its way
    (its messages are the `submitting` ones). Each is an index probe, not a walk through
    the messages already sent. A flow step's campaign of today is left sending: the engine
    may still add to it.
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
    # An A/B test's campaign is done when every campaign under it is (the rest, a draft
    # until the winner is chosen, included).
    child = aliased(Campaign)
    children_open = (
        select(child.id)
        .where(child.parent_id == Campaign.id, child.status.not_in(FINISHED))
        .exists()
    )
    unsent = or_(queued, deferred, on_their_way, children_open)
    still_open = and_(
        Campaign.kind == CampaignKind.FLOW,
        Campaign.launched_at > (now or utcnow()) - FLOW_DAY_OPEN,
    )
    done = list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == CampaignStatus.SENDING, ~unsent, ~still_open
            )
        )
    )
    if done:
        completed_at = now or utcnow()
        session.execute(
            update(Campaign)
            .where(Campaign.id.in_(done))
            .values(status=CampaignStatus.COMPLETED, completed_at=completed_at)
        )
        _announce_completed(session, done, completed_at)
    return done


def _announce_completed(session: Session, done: list[int], completed_at: datetime) -> None:
    """`campaign.completed` for the marketing campaigns among `done` (flow steps, replies and
    the other one-recipient campaigns complete unannounced)."""
    if not stream.wanted(session, EventType.CAMPAIGN_COMPLETED):
        return
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.recipient_count)
        .where(Campaign.id.in_(done), Campaign.kind == CampaignKind.MARKETING)
        .order_by(Campaign.id)
    )
    stream.record_many(
        session,
        EventType.CAMPAIGN_COMPLETED,
        [
            {
                "campaign_id": campaign_id,
                "name": name,
                "recipients": recipients,
                "completed_at": stream.timestamp(completed_at),
            }
            for campaign_id, name, recipients in rows
        ],
        at=completed_at,
    )


# -- controls ------------------------------------------------------------------------------

PAUSABLE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)


def pause_campaign(
    session: Session, campaign_id: int, reason: str = "paused by a user"
) -> Campaign:
    """Stop handing messages to Sinch; batches already in flight finish. An A/B test's
    campaigns under it pause with it."""
    campaign = _locked(session, campaign_id)
    if campaign.status not in PAUSABLE:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status}; only a scheduled or sending "
            "campaign can be paused"
        )
    campaign.status = CampaignStatus.PAUSED
    campaign.status_reason = reason
    for child in _children(session, campaign_id, PAUSABLE):
        child.status = CampaignStatus.PAUSED
        child.status_reason = reason
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
    now = now or utcnow()
    for one in (campaign, *_children(session, campaign_id, (CampaignStatus.PAUSED,))):
        later = one.send_at is not None and one.send_at > now
        one.status = CampaignStatus.SCHEDULED if later else CampaignStatus.SENDING
        one.status_reason = None
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
    stopped in time. An A/B test's campaigns under it are cancelled with it.
    """
    campaign = _locked(session, campaign_id)
    children = _children(session, campaign_id, None)
    # A completed campaign has handed everything over; Sinch may still hold some of it.
    if campaign.status == CampaignStatus.CANCELLED or (
        campaign.status == CampaignStatus.COMPLETED
        and not any(_with_sinch(session, one.id) for one in (campaign, *children))
    ):
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; nothing left to cancel")
    now = utcnow()
    provider_ids = _cancel(session, campaign, now)
    for child in children:
        if child.status != CampaignStatus.CANCELLED:
            provider_ids += _cancel(session, child, now)
    return campaign, provider_ids


def _cancel(session: Session, campaign: Campaign, now: datetime) -> list[str]:
    session.execute(
        update(Message)
        .where(
            Message.campaign_id == campaign.id,
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
    pending = select(Message.batch_id).where(*_at_sinch(campaign.id)).distinct()
    provider_ids = [
        batch_id
        for batch_id in session.scalars(
            select(Batch.provider_batch_id).where(
                Batch.id.in_(pending), Batch.provider_batch_id.is_not(None)
            )
        )
        if batch_id
    ]
    if campaign.status not in FINISHED:
        campaign.completed_at = now
    campaign.status = CampaignStatus.CANCELLED
    campaign.status_reason = "cancelled by a user"
    return provider_ids


def _at_sinch(campaign_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Message.campaign_id == campaign_id,
        Message.status.in_((MessageStatus.ACCEPTED, MessageStatus.DISPATCHED)),
    )


def _with_sinch(session: Session, campaign_id: int) -> bool:
    return bool(session.scalar(select(select(Message.id).where(*_at_sinch(campaign_id)).exists())))


def _children(
    session: Session, campaign_id: int, statuses: tuple[CampaignStatus, ...] | None
) -> list[Campaign]:
    """The campaigns under an A/B test's campaign (in `statuses`), locked."""
    query = select(Campaign).where(Campaign.parent_id == campaign_id)
    if statuses is not None:
        query = query.where(Campaign.status.in_(statuses))
    return list(session.scalars(query.order_by(Campaign.id).with_for_update()))


def _locked(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    if campaign.parent_id is not None:
        raise Conflict(
            f"campaign {campaign_id} sends part of campaign {campaign.parent_id}'s A/B test; "
            f"pause, resume or cancel campaign {campaign.parent_id} instead"
        )
    if campaign.kind == CampaignKind.FLOW:
        # Its flow's engine keeps adding to it: a paused or cancelled step campaign would
        # hold those texts forever.
        raise Conflict(
            f"campaign {campaign_id} carries a flow's texts; pause or archive the flow instead"
        )
    return campaign
