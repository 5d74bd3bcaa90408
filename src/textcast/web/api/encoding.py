"""`/api/v1/encoding`: how a body will be encoded and split, which characters to replace or
remove, and what a marketing text lacks (opt-out wording, the brand name)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from textcast.domain import campaigns
from textcast.domain.accounts.permissions import Permission
from textcast.domain.campaigns import planning
from textcast.domain.content import compliance, encoding
from textcast.domain.content.encoding import Encoding, EncodingReport, PartsAdvice
from textcast.domain.errors import Conflict
from textcast.models import CampaignStatus, utcnow
from textcast.web.api.ids import IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import guard
from textcast.web.deps import RuntimeDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/encoding", tags=["encoding"], dependencies=[guard(Permission.READ)]
)


class EncodingIn(Input):
    text: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)]
    campaign_id: IdIn | None = Field(
        default=None,
        description="A draft whose audience prices the saving of `advice` (as its plan counts "
        "it); without one, the saving is per message, at the price of DEFAULT_REGION.",
    )


class OffenderOut(BaseModel):
    position: int = Field(description="Index in the text, counted in code points.")
    character: str
    name: str
    replacement: str | None = Field(description="GSM-7 text to use instead; null when none.")


class ReplacedOut(BaseModel):
    text: str
    encoding: Encoding
    parts: int
    parts_saved: int = Field(
        description="Parts fewer than the text as written; 0 when the replacements save none, "
        "negative when they make it longer (… becomes ..., ™ becomes TM)."
    )


class AdviceOut(BaseModel):
    remove: list[str] = Field(
        description="The characters without a GSM-7 form that keep the text UCS-2 (an emoji "
        "with its modifiers is one)."
    )
    names: list[str]
    text: str = Field(description="The text without them (and with the other replacements).")
    encoding: Encoding
    parts: int
    parts_saved: int = Field(description="Parts fewer per message than the text as written.")
    recipients: int | None = Field(
        description="The draft's recipients as its plan counts them; null: per message."
    )
    cost_saved: float = Field(description="For the draft's audience, or for one message.")
    currency: str
    message: str = Field(description='In words: "Remove 🌸: 2 parts → 1, saves 0.37 USD…".')


class WarningOut(BaseModel):
    code: compliance.Lack = Field(
        description="no_opt_out: no opt-out wording (STOP, opt out, unsubscribe...); "
        "no_brand: the brand name (BRAND_NAME) is not in the text."
    )
    message: str


class EncodingOut(BaseModel):
    encoding: Encoding
    length: int = Field(description="GSM-7 septets (extension characters count 2) or UCS-2 units.")
    parts: int
    remaining: int = Field(description="Septets or units left before another part is needed.")
    offenders: list[OffenderOut] = Field(description="Every character that forces UCS-2.")
    with_replacements: ReplacedOut
    advice: AdviceOut | None = Field(
        description="When a few characters without a GSM-7 form (emoji) are all that keep the "
        "text UCS-2: what removing them saves. Null otherwise."
    )
    warnings: list[WarningOut] = Field(
        description="What a marketing text lacks: advice, never a refusal (the plan repeats it)."
    )

    @classmethod
    def of(
        cls,
        report: EncodingReport,
        advice: AdviceOut | None,
        hints: tuple[compliance.Hint, ...],
    ) -> EncodingOut:
        return cls(
            encoding=report.encoding,
            length=report.length,
            parts=report.parts,
            remaining=report.remaining,
            offenders=[
                OffenderOut.model_validate(o, from_attributes=True) for o in report.offenders
            ],
            with_replacements=ReplacedOut(
                text=report.text_after_replacements,
                encoding=Encoding.GSM7 if report.gsm7_after_replacements else Encoding.UCS2,
                parts=report.parts_after_replacements,
                parts_saved=report.parts - report.parts_after_replacements,
            ),
            advice=advice,
            warnings=[WarningOut(code=h.lack, message=h.message) for h in hints],
        )


@router.post("", responses=problems(404))
def analyze_text(payload: EncodingIn, runtime: RuntimeDep) -> EncodingOut:
    """The text as written, merge fields included. A `campaign_id` that does not exist is a
    404. Nothing is written."""
    report = encoding.analyze(payload.text)
    advice = None
    if report.advice is not None:
        advice = _advice(runtime, report, report.advice, payload.campaign_id)
    rules = runtime.policy.compliance
    hints = compliance.missing(payload.text, rules) if rules is not None else ()
    return EncodingOut.of(report, advice, hints)


def _advice(
    runtime: RuntimeDep, report: EncodingReport, advice: PartsAdvice, campaign_id: int | None
) -> AdviceOut:
    policy = runtime.policy
    saved = report.parts - advice.parts
    recipients = None
    each = policy.prices.part_price(runtime.settings.default_region)
    if campaign_id is not None:
        with runtime.database.read() as session:
            campaign = campaigns.get_campaign(session, campaign_id)
            if campaign.status == CampaignStatus.DRAFT:
                try:
                    plan = planning.plan(session, campaign, policy, utcnow())
                except Conflict:  # a broken segment: the plan page says so; priced per message
                    plan = None
                if plan is not None and plan.totals.recipients:
                    recipients = plan.totals.recipients
                    each = planning.part_each_cost(plan)
    cost = round(max(saved, 0) * each, 4)
    return AdviceOut(
        remove=list(advice.remove),
        names=list(advice.names),
        text=advice.text,
        encoding=Encoding.GSM7,
        parts=advice.parts,
        parts_saved=saved,
        recipients=recipients,
        cost_saved=cost,
        currency=policy.prices.currency,
        message=_advice_message(report, advice, saved, cost, recipients, policy.prices.currency),
    )


def _advice_message(
    report: EncodingReport,
    advice: PartsAdvice,
    saved: int,
    cost: float,
    recipients: int | None,
    currency: str,
) -> str:
    which = " and ".join(advice.remove)
    also = " (and replace the others)" if advice.replaced else ""
    alone, them = ("is", "it") if len(advice.remove) == 1 else ("are", "them")
    if saved <= 0:
        return (
            f"{which} {alone} what makes this text UCS-2; removing {them}{also} keeps it at "
            f"{_parts(report.parts)}."
        )
    where = "per message"
    if recipients is not None:
        plural = "" if recipients == 1 else "s"
        where = f"on this audience ({recipients:,} recipient{plural})"
    return (
        f"Remove {which}{also}: {_parts(report.parts)} → {advice.parts}, saves {_money(cost)} "
        f"{currency} {where}."
    )


def _parts(n: int) -> str:
    return f"{n} part" if n == 1 else f"{n} parts"


def _money(amount: float) -> str:
    if amount >= 1 or amount == 0:
        return f"{amount:,.2f}"
    whole, _, decimals = f"{amount:.4f}".rstrip("0").partition(".")
    return f"{whole}.{decimals:0<2}"
