"""The one plan presenter: a campaign's plan (and a draft A/B test's per variant) as the API
answers it (`POST /api/campaigns/{id}/plan`) and as `textcast campaigns plan` prints it. Its own
module so that the web API and the command line, siblings that do not import each other, both
use it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from textcast.domain.campaigns import planning
from textcast.domain.experiments import AbTestPlan, VariantPlan


class CountryCostOut(BaseModel):
    country: str = Field(description="ISO country, `??` when unknown.")
    recipients: int
    parts: int
    cost: float


class SampleOut(BaseModel):
    phone: str
    text: str = Field(description="What this recipient receives.")
    parts: int
    encoding: str
    cost: float
    not_before: datetime | None = Field(description="Held until then by its send window.")


class VariantPlanOut(BaseModel):
    label: str = Field(description="A..E.")
    body: str | None = Field(description="Its text; null in a send-time test (the campaign's).")
    send_time: str | None = Field(
        description="HH:MM in each recipient's time zone (a send-time test); null otherwise."
    )
    characters: int = Field(
        description="Of its text as the first recipient gets it: GSM-7 septets or UCS-2 units."
    )
    encoding: str
    parts: int = Field(description="Parts per message of that text.")
    parts_each: float = Field(description="Parts per recipient on average (personalised texts).")
    cost_each: float = Field(description="Cost per recipient on average.")
    pool: int = Field(description="Numbers in its share of the test pool, as launch draws it.")
    pool_recipients: int = Field(description="Of them, those not left out.")
    pool_cost: float
    rest_cost: float = Field(description="The rest of the audience's cost if this variant wins.")


class AbTestPoolOut(BaseModel):
    compares: str = Field(description="`text` or `send_time`.")
    pool_percent: int
    audience: int = Field(description="Numbers launch would text; the pool is drawn from them.")
    pool: int = Field(description="Numbers in the test pool, every variant's share together.")
    rest: int = Field(description="Numbers that get the winner after the decision.")
    cost_at_most: float = Field(description="The pool's cost and the rest at the dearest winner.")


class PlanOut(BaseModel):
    campaign_id: int
    audience: int = Field(description="Distinct numbers considered.")
    recipients: int = Field(description="Numbers that will get a message.")
    excluded: dict[str, int] = Field(
        description="Numbers left out, by reason: opted_out, invalid, duplicate, "
        "missing_merge_field, frequency_cap, quiet_hours_expired."
    )
    parts: int
    encodings: dict[str, int] = Field(description="Recipients per encoding (GSM-7, UCS-2).")
    cost: float
    currency: str
    cost_is_estimate: bool = Field(
        description="True while prices come from the built-in table of typical prices."
    )
    by_country: list[CountryCostOut]
    budget: float | None
    within_budget: bool
    empty_audience: bool = Field(
        description="Nobody would get a message (no one chosen, or everyone left out): "
        "sending is refused, and the first warning says why."
    )
    start_at: datetime
    finish_at: datetime = Field(description="Estimated, at the configured send rate.")
    sending_seconds: float
    deferred: int = Field(description="Recipients held at the start by their send window.")
    warnings: list[str]
    hygiene_left_out: int = Field(
        description="Numbers left out because list hygiene made them invalid (in `excluded` too)."
    )
    hygiene_saving: float = Field(
        description="What those numbers would have cost at the price table."
    )
    hygiene: str | None = Field(
        description='The saving in words ("50 numbers left out as invalid (list hygiene), '
        'saving 0.40 USD"); null when nobody is left out as invalid.'
    )
    compliance: list[str] = Field(
        description='What a marketing text lacks (opt-out wording such as "Reply STOP to opt '
        'out", the brand name): advice, sending is not refused.'
    )
    sample: list[SampleOut]
    test_pool: AbTestPoolOut | None = Field(
        default=None,
        description="A draft A/B test: its pool as launch would draw it now (the same seed, "
        "the same split); null otherwise.",
    )
    variants: list[VariantPlanOut] | None = Field(
        default=None,
        description="A draft A/B test: per variant its text's parts and cost, its share of the "
        "pool and the rest's cost if it wins; null otherwise. The figures above are the "
        "campaign's text (variant A) sent to the whole audience.",
    )


def plan_out(campaign_id: int, result: planning.Plan, test: AbTestPlan | None = None) -> PlanOut:
    totals = result.totals
    return PlanOut(
        campaign_id=campaign_id,
        audience=result.audience,
        recipients=totals.recipients,
        excluded=dict(totals.excluded),
        parts=totals.parts,
        encodings=dict(totals.encodings),
        cost=round(totals.cost, 4),
        currency=result.currency,
        cost_is_estimate=result.estimate,
        by_country=[
            CountryCostOut(
                country=country, recipients=c.recipients, parts=c.parts, cost=round(c.cost, 4)
            )
            for country, c in sorted(totals.by_country.items(), key=lambda kv: -kv[1].cost)
        ],
        budget=result.budget,
        within_budget=result.within_budget,
        empty_audience=result.empty,
        start_at=result.start,
        finish_at=result.finish,
        sending_seconds=round(result.seconds, 1),
        deferred=totals.deferred,
        warnings=result.warnings,
        hygiene_left_out=result.hygiene_left_out,
        hygiene_saving=round(totals.invalid_cost, 4),
        hygiene=result.hygiene_note,
        compliance=result.compliance,
        sample=[
            SampleOut(
                phone=one.phone,
                text=one.text,
                parts=one.parts,
                encoding=one.encoding,
                cost=round(one.cost, 4),
                not_before=one.not_before,
            )
            for one in totals.sample
        ],
        test_pool=None if test is None else _test_pool(test),
        variants=None if test is None else [_variant(v) for v in test.variants],
    )


def _test_pool(test: AbTestPlan) -> AbTestPoolOut:
    return AbTestPoolOut(
        compares=test.compares,
        pool_percent=test.pool_percent,
        audience=test.audience,
        pool=test.pool,
        rest=test.rest,
        cost_at_most=round(test.cost_at_most, 4),
    )


def _variant(variant: VariantPlan) -> VariantPlanOut:
    return VariantPlanOut(
        label=variant.label,
        body=variant.body,
        send_time=variant.send_time,
        characters=variant.characters,
        encoding=variant.encoding,
        parts=variant.parts,
        parts_each=round(variant.parts_each, 4),
        cost_each=round(variant.cost_each, 6),
        pool=variant.pool,
        pool_recipients=variant.pool_recipients,
        pool_cost=round(variant.pool_cost, 4),
        rest_cost=round(variant.rest_cost, 4),
    )
