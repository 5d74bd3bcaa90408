"""Launching an A/B test: the pool drawn from the audience, each variant's share launched as a
campaign of its own under the test's campaign, and the rest of the audience kept as a draft
that the decision launches with the winner.

All in the caller's transaction: a refused launch (quota, budget, a pool too small) leaves
nothing behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textcast.domain.campaigns.drafts import draft_from, set_body_info, store_numbers
from textcast.domain.campaigns.launch import announce_start, audience_members, launch_campaign
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.queries import get_campaign
from textcast.domain.errors import Conflict
from textcast.domain.experiments.splits import draw_pool
from textcast.domain.experiments.variants import ab_test_of, variants_of
from textcast.models import (
    AbState,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    ClaimCursor,
    Link,
    Message,
    utcnow,
)
from textcast.wording import plural


def launch_test(
    session: Session, campaign_id: int, policy: Policy, *, now: datetime | None = None
) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    test = ab_test_of(session, campaign_id, for_update=True)
    if test is None:
        raise Conflict(f"campaign {campaign_id} has no A/B test")
    if campaign.status != CampaignStatus.DRAFT or test.state != AbState.DRAFT:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; only a draft can be sent")
    now = now or utcnow()
    variants = variants_of(session, campaign_id)
    members = audience_members(session, campaign)
    cap = policy.max_recipients_per_campaign
    if cap and len(members) > cap:
        raise Conflict(
            f"the audience has {len(members)} recipients, above the limit of {cap} per "
            "campaign (MAX_RECIPIENTS_PER_CAMPAIGN); split it or raise the limit"
        )
    if not members:
        raise Conflict(
            f"campaign {campaign_id} cannot be sent: nobody in its audience can receive it"
        )
    split = draw_pool(members, len(variants), test.pool_percent, test.seed)
    if not all(split.cells):
        raise Conflict(
            f"the test pool ({test.pool_percent}% of {plural(len(members), 'recipient')}) "
            f"is too small to give each of the {len(variants)} variants a recipient; raise "
            "the pool or widen the audience"
        )
    cells = [
        _launch_cell(session, campaign, variant, phones, policy, now)
        for variant, phones in zip(variants, split.cells, strict=True)
    ]
    if split.rest:
        rest = _child(campaign, f"{campaign.name} · the rest", None, campaign.local_send_time)
        session.add(rest)
        session.flush()
        store_numbers(session, rest.id, split.rest)
        rest.recipient_count = len(split.rest)
        test.rest_id = rest.id
    _check_budget(campaign, cells, len(split.rest))
    campaign.recipient_count = sum(cell.recipient_count for cell in cells) + len(split.rest)
    campaign.status = (
        CampaignStatus.SCHEDULED
        if any(cell.status == CampaignStatus.SCHEDULED for cell in cells)
        else CampaignStatus.SENDING
    )
    campaign.launched_at = now
    test.state = AbState.TESTING
    announce_start(session, campaign, now)
    return campaign


def unlaunch_test(session: Session, campaign_id: int) -> None:
    """A test scheduled but not started goes back to a draft: its variants' campaigns, their
    messages and the rest's draft go (the caller has checked nothing was handed over)."""
    test = ab_test_of(session, campaign_id, for_update=True)
    if test is None or test.state == AbState.DRAFT:
        return
    children = list(session.scalars(select(Campaign.id).where(Campaign.parent_id == campaign_id)))
    if children:
        session.execute(delete(Message).where(Message.campaign_id.in_(children)))
        session.execute(delete(Link).where(Link.campaign_id.in_(children)))
        session.execute(delete(ClaimCursor).where(ClaimCursor.campaign_id.in_(children)))
        session.execute(
            delete(CampaignRecipient).where(CampaignRecipient.campaign_id.in_(children))
        )
        session.execute(delete(Campaign).where(Campaign.id.in_(children)))
    for variant in variants_of(session, campaign_id):
        variant.cell_id = None
    test.state = AbState.DRAFT
    test.rest_id = None
    campaign = get_campaign(session, campaign_id)
    campaign.status = CampaignStatus.DRAFT
    campaign.status_reason = None
    campaign.launched_at = None
    campaign.estimated_cost = None


def _launch_cell(
    session: Session,
    campaign: Campaign,
    variant: CampaignVariant,
    phones: list[str],
    policy: Policy,
    now: datetime,
) -> Campaign:
    cell = _child(
        campaign,
        f"{campaign.name} · variant {variant.label}",
        variant.body,
        variant.local_send_time or campaign.local_send_time,
    )
    cell.variant = variant.label
    session.add(cell)
    session.flush()
    store_numbers(session, cell.id, phones)
    cell.recipient_count = len(phones)
    # A cell whose few recipients are all left out (opted out since) still sends nothing
    # quietly: the test's campaign as a whole was checked for an audience.
    launch_campaign(session, cell.id, policy, now=now, refuse_empty=False)
    variant.cell_id = cell.id
    return cell


def _child(
    campaign: Campaign, name: str, body: str | None, local_send_time: str | None
) -> Campaign:
    child = draft_from(
        campaign,
        name,
        parent_id=campaign.id,
        send_at=campaign.send_at,
        local_send_time=local_send_time,
        expires_at=campaign.expires_at,
    )
    if body is not None:
        child.body = body
        set_body_info(child)
    return child


def _check_budget(campaign: Campaign, cells: list[Campaign], rest: int) -> None:
    """The test's cells and the rest at the dearest variant's price per recipient must fit
    the budget, so the winner, whichever it is, can be afforded."""
    tested = sum(cell.estimated_cost or 0.0 for cell in cells)
    each = [(c.estimated_cost or 0.0) / c.recipient_count for c in cells if c.recipient_count]
    dearest = max(each, default=0.0)
    campaign.estimated_cost = tested + dearest * rest
    if campaign.budget is not None and campaign.estimated_cost > campaign.budget:
        raise Conflict(
            f"budget: the test and the rest at the dearest variant are estimated at "
            f"{campaign.estimated_cost:.2f}, above the budget {campaign.budget:.2f}; raise the "
            "budget or narrow the audience"
        )
