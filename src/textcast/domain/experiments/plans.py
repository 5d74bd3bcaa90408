"""An A/B test's plan before it is sent: per variant, what its text costs (characters,
encoding, parts per message, the price per recipient), how many of the audience its share of
the test pool takes and what that share costs, and what the rest of the audience would cost
if it won.

The pool is the one a launch now would draw: the same audience (`audience_members`), the same
seed and the same split (`draw_pool`), so the sizes are the launch's. Each variant is evaluated
as its launch would evaluate it (`planning.Evaluator` on the campaign with the variant's text
or send time), for its share and for the rest: one pass over the audience, every variant
evaluated on each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from textcast.domain.campaigns.launch import audience_members
from textcast.domain.campaigns.planning import Evaluated, Evaluator, Policy, audience_rows
from textcast.domain.content import encoding
from textcast.domain.experiments.splits import draw_pool
from textcast.domain.experiments.variants import ab_test_of, variants_of
from textcast.models import AbState, Campaign, CampaignStatus, CampaignVariant

REST = -1
"""Where a number of the rest is, among the variants' indexes."""


@dataclass(frozen=True, slots=True)
class VariantPlan:
    label: str
    body: str | None
    """Its text (a text test); None for a send-time test (the campaign's text)."""
    send_time: str | None
    """`HH:MM` in each recipient's time zone (a send-time test)."""
    characters: int
    """Of its text as the first recipient gets it (septets for GSM-7, UTF-16 units for
    UCS-2), short links at their length."""
    encoding: str
    parts: int
    """Parts per message of that text."""
    parts_each: float
    """Parts per recipient, on average (a personalised text varies)."""
    cost_each: float
    """Per recipient, on average over those who would get it (pool and rest)."""
    pool: int
    """Numbers in its share of the test pool: the messages its launch writes."""
    pool_recipients: int
    """Of them, those who would get it (the others are left out: opted out, capped...)."""
    pool_cost: float
    rest_cost: float
    """What the rest of the audience costs if this variant wins."""


@dataclass(frozen=True, slots=True)
class AbTestPlan:
    compares: str
    """`text` or `send_time`."""
    pool_percent: int
    audience: int
    """Numbers the launch would text, the pool drawn from them."""
    pool: int
    rest: int
    variants: list[VariantPlan]

    @property
    def cost_at_most(self) -> float:
        """The pool, and the rest at the dearest winner."""
        return sum(v.pool_cost for v in self.variants) + max(
            (v.rest_cost for v in self.variants), default=0.0
        )


@dataclass(slots=True)
class _Tally:
    pool: int = 0
    pool_recipients: int = 0
    pool_cost: float = 0.0
    rest_recipients: int = 0
    rest_cost: float = 0.0
    parts: int = 0
    first: Evaluated | None = None

    def add(self, one: Evaluated, in_pool: bool) -> None:
        if in_pool:
            self.pool += 1
        if one.excluded:
            return
        if in_pool:
            self.pool_recipients += 1
            self.pool_cost += one.cost
        else:
            self.rest_recipients += 1
            self.rest_cost += one.cost
        self.parts += one.parts
        if self.first is None:
            self.first = one


def plan_test(
    session: Session, campaign: Campaign, policy: Policy, now: datetime
) -> AbTestPlan | None:
    """A draft's A/B test as its launch now would send it; None without a test to send."""
    test = ab_test_of(session, campaign.id)
    if test is None or test.state != AbState.DRAFT or campaign.status != CampaignStatus.DRAFT:
        return None
    variants = variants_of(session, campaign.id)
    if not variants:
        return None
    members = audience_members(session, campaign)
    split = draw_pool(members, len(variants), test.pool_percent, test.seed)
    where = dict.fromkeys(split.rest, REST)
    for index, cell in enumerate(split.cells):
        where.update(dict.fromkeys(cell, index))
    start = max(now, campaign.send_at or now)
    evaluators = [Evaluator(session, _as_sent(campaign, v), policy, start) for v in variants]
    attributes = sorted({name for e in evaluators for name in e.attributes})
    tallies = [_Tally() for _ in variants]
    for chunk in audience_rows(session, campaign, attributes):
        for index, (evaluator, tally) in enumerate(zip(evaluators, tallies, strict=True)):
            # Its share of the pool, and the rest; numbers the launch leaves out are in neither.
            mine = [r for r in chunk if where.get(r.phone) in (index, REST)]
            for one in evaluator.evaluate(mine):
                tally.add(one, where[one.phone] == index)
    return AbTestPlan(
        compares="text" if any(v.body is not None for v in variants) else "send_time",
        pool_percent=test.pool_percent,
        audience=len(members),
        pool=sum(len(cell) for cell in split.cells),
        rest=len(split.rest),
        variants=[
            _variant(v, _as_sent(campaign, v).body, t)
            for v, t in zip(variants, tallies, strict=True)
        ],
    )


def _as_sent(campaign: Campaign, variant: CampaignVariant) -> Campaign:
    """The campaign as the variant's launch sends it (never added to the session)."""
    return Campaign(
        kind=campaign.kind,
        body=variant.body if variant.body is not None else campaign.body,
        smart_encoding=campaign.smart_encoding,
        send_at=campaign.send_at,
        local_send_time=variant.local_send_time or campaign.local_send_time,
        expires_at=campaign.expires_at,
        audience=campaign.audience,
    )


def _variant(variant: CampaignVariant, body: str, tally: _Tally) -> VariantPlan:
    info = encoding.segment(tally.first.text if tally.first is not None else body)
    recipients = tally.pool_recipients + tally.rest_recipients
    return VariantPlan(
        label=variant.label,
        body=variant.body,
        send_time=variant.local_send_time,
        characters=info.length,
        encoding=info.encoding.value,
        parts=info.parts,
        parts_each=tally.parts / recipients if recipients else float(info.parts),
        cost_each=(tally.pool_cost + tally.rest_cost) / recipients if recipients else 0.0,
        pool=tally.pool,
        pool_recipients=tally.pool_recipients,
        pool_cost=tally.pool_cost,
        rest_cost=tally.rest_cost,
    )
