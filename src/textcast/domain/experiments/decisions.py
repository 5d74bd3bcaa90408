"""The decision: when the test pool has been sent and the decision time has come (or when the
operator picks), the winner is chosen and the rest of the audience gets it through the
normal launch (its plan, the budget, quiet hours and the quotas).

A durable step: choosing and launching happen in one transaction under the test's row lock,
so a crash leaves either nothing done (the next tick decides again) or both done (the rest's
messages are in the outbox, sent once by the dispatcher); a second decision finds the test
decided and does nothing. When the quota or the budget refuses the rest, the winner stays
chosen and the rest is tried again later, or as soon as the operator asks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from textcast.domain import stream
from textcast.domain.campaigns.drafts import set_body_info
from textcast.domain.campaigns.launch import launch_campaign
from textcast.domain.campaigns.lifecycle import FINISHED
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.queries import get_campaign
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, TooManyRequests
from textcast.domain.experiments.results import AbResults, results_of, snapshot
from textcast.domain.experiments.variants import ab_test_of, variants_of
from textcast.models import (
    AbFallback,
    AbState,
    AbTest,
    Campaign,
    CampaignStatus,
    EventType,
)

log = logging.getLogger(__name__)

RETRY_REST = timedelta(minutes=15)
"""How soon a rest refused by the quota or the budget is tried again."""
AUTOMATIC = "automatic"
FALLBACK = "fallback"


def advance_tests(session: Session, policy: Policy, now: datetime) -> list[int]:
    """Tests whose pool has been sent get their decision time; tests whose time has come are
    decided; a rest refused before is tried again. Returns the campaigns decided now."""
    _note_pools_sent(session, now)
    due = session.scalars(
        select(AbTest.campaign_id).where(
            AbTest.decide_at <= now,
            or_(
                AbTest.state == AbState.TESTING,
                and_(AbTest.state == AbState.DECIDED, AbTest.rest_error.is_not(None)),
            ),
        )
    ).all()
    decided = []
    for campaign_id in due:
        # A test that cannot be decided (its rows changed under it) waits alone: the others
        # are decided beside it.
        savepoint = session.begin_nested()
        try:
            test = decide(session, campaign_id, policy, now=now)
        except Exception:
            savepoint.rollback()
            log.exception("A/B test of campaign %s not decided; tried again later", campaign_id)
            session.execute(
                update(AbTest)
                .where(AbTest.campaign_id == campaign_id)
                .values(decide_at=now + RETRY_REST)
            )
            continue
        savepoint.commit()
        if test.state == AbState.DECIDED and test.decided_at == now:
            decided.append(campaign_id)
    return decided


def decide(
    session: Session,
    campaign_id: int,
    policy: Policy,
    *,
    now: datetime,
    pick: str | None = None,
    picked_by: str | None = None,
) -> AbTest:
    """Choose the winner (`pick`, or by the figures and the fallback) and send it to the rest.

    Called again on a decided test, it only tries the rest again if it was refused.
    """
    test = ab_test_of(session, campaign_id, for_update=True)
    if test is None:
        raise Conflict(f"campaign {campaign_id} has no A/B test")
    if test.state == AbState.DECIDED:
        if pick is not None and pick != test.winner:
            raise Conflict(
                f"variant {test.winner} was already chosen as the winner; it cannot change"
            )
        _send_rest(session, test, policy, now)
        return test
    if test.state not in (AbState.TESTING, AbState.WAITING):
        raise Conflict(f"campaign {campaign_id}'s test is {test.state}; there is nothing to decide")
    campaign = get_campaign(session, campaign_id)
    if campaign.status == CampaignStatus.CANCELLED:
        test.state = AbState.CANCELLED
        return test
    found = results_of(session, campaign_id, now)
    assert found is not None
    if pick is not None:
        labels = [v.label for v in found.variants]
        if pick not in labels:
            raise InvalidInput([FieldProblem("variant", f"must be one of {', '.join(labels)}")])
        how = picked_by or "a user"
        winner, reason = pick, f"Variant {pick} picked by {how}."
    elif found.ahead is not None:
        winner, how, reason = found.ahead, AUTOMATIC, _won(found)
    elif test.fallback == AbFallback.FIRST:
        winner, how, reason = "A", FALLBACK, _unclear(found) + " The fallback sent variant A."
    else:
        test.state = AbState.WAITING
        test.decision = snapshot(found, _unclear(found) + " Waiting for a pick.")
        return test
    test.state = AbState.DECIDED
    test.winner = winner
    test.decided_at = now
    test.decided_by = how
    test.decision = snapshot(found, reason)
    _announce(session, campaign, found, now)
    _send_rest(session, test, policy, now)
    return test


def _announce(session: Session, campaign: Campaign, found: AbResults, now: datetime) -> None:
    """`campaign.test_decided`, in the decision's transaction."""
    test = found.test
    data = {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "winner": test.winner,
        "how": test.decided_by if test.decided_by in (AUTOMATIC, FALLBACK) else "picked",
        "reason": (test.decision or {}).get("reason"),
        "metric": str(test.metric),
        "variants": [
            {
                "label": v.label,
                "sent": v.sent,
                "successes": v.successes,
                "rate": v.rate,
                "p_best": v.p_best,
            }
            for v in found.variants
        ],
        "rest_recipients": found.rest_recipients,
        "decided_at": stream.timestamp(now),
    }
    stream.record(session, EventType.CAMPAIGN_TEST_DECIDED, data, at=now)


def note_cancelled(session: Session, campaign_id: int) -> None:
    """The campaign was cancelled: a test not yet decided never will be."""
    test = ab_test_of(session, campaign_id, for_update=True)
    if test is not None and test.state in (AbState.TESTING, AbState.WAITING):
        test.state = AbState.CANCELLED


def _send_rest(session: Session, test: AbTest, policy: Policy, now: datetime) -> None:
    rest = session.get(Campaign, test.rest_id, with_for_update=True) if test.rest_id else None
    if rest is None or rest.status != CampaignStatus.DRAFT:
        test.rest_error = None
        return
    campaign = get_campaign(session, test.campaign_id)
    winner = next(v for v in variants_of(session, test.campaign_id) if v.label == test.winner)
    rest.variant = winner.label
    rest.name = f"{campaign.name} · the rest (variant {winner.label})"
    if winner.body is not None:
        rest.body = winner.body
        set_body_info(rest)
    rest.local_send_time = winner.local_send_time or campaign.local_send_time
    rest.send_at = None
    savepoint = session.begin_nested()
    try:
        launch_campaign(session, rest.id, policy, now=now, refuse_empty=False)
        _check_budget(session, campaign, rest)
    except (Conflict, TooManyRequests) as refused:
        savepoint.rollback()
        test.rest_error = str(refused)
        wait = RETRY_REST
        if isinstance(refused, TooManyRequests):
            wait = max(wait, timedelta(seconds=refused.retry_after))
        test.decide_at = now + wait
        return
    savepoint.commit()
    test.rest_error = None
    if campaign.status == CampaignStatus.PAUSED:
        rest.status = CampaignStatus.PAUSED
        rest.status_reason = campaign.status_reason


def _check_budget(session: Session, campaign: Campaign, rest: Campaign) -> None:
    """What is left of the campaign's budget after the test must cover the rest."""
    if campaign.budget is None:
        return
    spent = session.scalar(
        select(func.coalesce(func.sum(Campaign.spent), 0.0)).where(
            Campaign.parent_id == campaign.id, Campaign.id != rest.id
        )
    )
    left = campaign.budget - float(spent or 0.0)
    if (rest.estimated_cost or 0.0) > left:
        raise Conflict(
            f"budget: the rest is estimated at {rest.estimated_cost:.2f}, above the "
            f"{left:.2f} left of the budget {campaign.budget:.2f}; raise the budget"
        )


def _note_pools_sent(session: Session, now: datetime) -> None:
    """A test whose variants' campaigns have all handed their texts over has its pool sent:
    its decision time is set from then."""
    cell = aliased(Campaign)
    open_cells = (
        select(cell.id)
        .where(
            cell.parent_id == AbTest.campaign_id,
            cell.variant.is_not(None),
            cell.status.not_in(FINISHED),
        )
        .exists()
    )
    sent = session.scalars(
        select(AbTest)
        .where(AbTest.state == AbState.TESTING, AbTest.pool_sent_at.is_(None), ~open_cells)
        .with_for_update()
    ).all()
    for test in sent:
        finished = session.scalar(
            select(func.max(Campaign.completed_at)).where(
                Campaign.parent_id == test.campaign_id, Campaign.variant.is_not(None)
            )
        )
        test.pool_sent_at = min(finished or now, now)
        if test.decide_after_minutes is not None:
            test.decide_at = test.pool_sent_at + timedelta(minutes=test.decide_after_minutes)


def _won(found: AbResults) -> str:
    best = next(v for v in found.variants if v.label == found.ahead)
    return (
        f"Variant {found.ahead} won: {best.chance} likely to have the best "
        f"{found.metric_words} ({found.test.confidence:.0%} needed)."
    )


def _unclear(found: AbResults) -> str:
    if not found.enough_data:
        return f"Not enough data: fewer than {found.test.min_sample:,} texts sent for a variant."
    best = next(v for v in found.variants if v.label == found.leader)
    return (
        f"No variant was better with {found.test.confidence:.0%} confidence (variant "
        f"{found.leader} led, {best.chance} likely to be the best)."
    )
