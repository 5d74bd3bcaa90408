"""An A/B test as its pages show it: per variant the texts sent, the successes, the rate with
its 95 % interval and the probability of being the best; and where the decision stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.experiments.outcomes import Tally, tally
from textcast.domain.experiments.statistics import Arm, Comparison, compare
from textcast.domain.experiments.variants import ab_test_of, variants_of
from textcast.models import AbMetric, AbState, AbTest, Campaign, CampaignStatus

METRIC_WORDS = {
    AbMetric.CLICKS: "click rate",
    AbMetric.REPLIES: "reply rate",
    AbMetric.DELIVERY: "delivery rate",
    AbMetric.EVENT: "conversion rate",
}


def chance_words(p: float) -> str:
    """A chance as a page says it: "97%", but "over 99%" and "under 1%" rather than a
    rounded 100% or 0%, which the figures never prove."""
    if p > 0.99:
        return "over 99%"
    if p < 0.01:
        return "under 1%"
    return f"{p:.0%}"


@dataclass(frozen=True, slots=True)
class VariantResult:
    label: str
    body: str | None
    """Its text (a text test), or None (a send-time test: the campaign's text)."""
    send_time: str | None
    cell_id: int | None
    """The campaign sending it to its share of the pool, once launched."""
    cell_status: CampaignStatus | None
    recipients: int
    sent: int
    successes: int
    rate: float | None
    low: float | None
    high: float | None
    p_best: float | None
    enough_data: bool

    @property
    def chance(self) -> str | None:
        """`p_best` in words (`chance_words`)."""
        return None if self.p_best is None else chance_words(self.p_best)


@dataclass(frozen=True, slots=True)
class AbResults:
    test: AbTest
    variants: list[VariantResult]
    enough_data: bool
    leader: str | None
    """The variant most likely to be the best now (with enough data)."""
    ahead: str | None
    """The variant that would win if the decision were taken now."""
    rest_recipients: int
    rest_status: CampaignStatus | None
    rest_estimated_cost: float | None
    """What the rest's launch estimated, with the winner's text (its plan at the decision)."""
    summary: str
    """Where the test stands, in a sentence."""

    @property
    def trials_label(self) -> str:
        """What a variant's `sent` counts: texts handed over, or (for the delivery rate) texts
        with a final report."""
        return "With a final report" if self.test.metric == AbMetric.DELIVERY else "Sent"

    @property
    def successes_label(self) -> str:
        """What a variant's `successes` counts, as a column says it."""
        test = self.test
        within = f"within {test.window_hours} h"
        return {
            AbMetric.CLICKS: f"Clicked a link {within}",
            AbMetric.REPLIES: f"Replied {within}",
            AbMetric.DELIVERY: "Delivered",
            AbMetric.EVENT: f"{test.event_name} {within}",
        }[test.metric]

    @property
    def metric_words(self) -> str:
        words = METRIC_WORDS[self.test.metric]
        if self.test.metric == AbMetric.EVENT:
            return f"{words} ({self.test.event_name})"
        return words


def results_of(session: Session, campaign_id: int, now: datetime) -> AbResults | None:
    test = ab_test_of(session, campaign_id)
    if test is None:
        return None
    variants = variants_of(session, campaign_id)
    cells = [v.cell_id for v in variants if v.cell_id is not None]
    tallies = tally(session, test, cells, now)
    launched = dict(
        session.execute(
            select(Campaign.id, Campaign.recipient_count).where(Campaign.id.in_(cells))
        ).all()
    )
    statuses = dict(
        session.execute(select(Campaign.id, Campaign.status).where(Campaign.id.in_(cells))).all()
    )
    counts = [tallies.get(v.cell_id, Tally()) if v.cell_id else Tally() for v in variants]
    comparison = compare(
        [Arm(v.label, t.sent, t.successes) for v, t in zip(variants, counts, strict=True)],
        min_sample=test.min_sample,
        confidence=test.confidence,
    )
    results = [
        VariantResult(
            label=v.label,
            body=v.body,
            send_time=v.local_send_time,
            cell_id=v.cell_id,
            cell_status=statuses.get(v.cell_id) if v.cell_id else None,
            recipients=int(launched.get(v.cell_id, 0)) if v.cell_id else 0,
            sent=arm.trials,
            successes=arm.successes,
            rate=arm.rate,
            low=arm.low,
            high=arm.high,
            p_best=arm.p_best,
            enough_data=arm.enough_data,
        )
        for v, arm in zip(variants, comparison.arms, strict=True)
    ]
    rest = session.get(Campaign, test.rest_id) if test.rest_id else None
    return AbResults(
        test=test,
        variants=results,
        enough_data=comparison.enough_data,
        leader=comparison.leader,
        ahead=comparison.winner,
        rest_recipients=rest.recipient_count if rest else 0,
        rest_status=rest.status if rest else None,
        rest_estimated_cost=rest.estimated_cost if rest and rest.launched_at else None,
        summary=_summary(test, comparison),
    )


def snapshot(results: AbResults, reason: str) -> dict[str, Any]:
    """What a decision saw, kept with it."""
    return {
        "reason": reason,
        "metric": str(results.test.metric),
        "variants": [
            {
                "label": v.label,
                "sent": v.sent,
                "successes": v.successes,
                "rate": v.rate,
                "low": v.low,
                "high": v.high,
                "p_best": v.p_best,
            }
            for v in results.variants
        ],
    }


def _summary(test: AbTest, comparison: Comparison) -> str:
    if test.state == AbState.DECIDED:
        reason = (test.decision or {}).get("reason")
        return str(reason) if reason else f"Variant {test.winner} won."
    if test.state == AbState.DRAFT:
        return "Not started: the test pool is drawn when the campaign is sent."
    if test.state == AbState.CANCELLED:
        return "Cancelled before a winner was chosen."
    if not comparison.enough_data:
        return (
            f"Not enough data yet: each variant needs {test.min_sample:,} texts sent before "
            "the figures can say which is better."
        )
    best = next(a for a in comparison.arms if a.label == comparison.leader)
    chance = chance_words(best.p_best or 0)
    if comparison.winner is not None:
        lead = f"Variant {comparison.winner} is ahead, {chance} likely to be the best."
    else:
        lead = (
            f"No clear winner yet: variant {comparison.leader} leads, {chance} likely to be "
            f"the best ({test.confidence:.0%} needed)."
        )
    if test.state == AbState.WAITING:
        return lead + " Waiting for your pick."
    return lead
