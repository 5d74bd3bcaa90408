"""The one plan presenter: a campaign's plan as the API answers it (`POST
/api/campaigns/{id}/plan`) and as `textcast campaigns plan` prints it. Its own module so that
the web API and the command line, siblings that do not import each other, both use it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from textcast.domain.campaigns import planning


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


def plan_out(campaign_id: int, result: planning.Plan) -> PlanOut:
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
    )
