"""`/api/v1/campaigns/{id}/ab-test`: a draft's A/B test set, changed or removed; its live results;
the winner picked by hand or decided now. The JSON a campaign shows of its test is here too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from textcast.ab_test_settings import (
    DECIDE_AFTER_WORDS,
    AbTestSettings,
    VariantText,
    read_test,
    spell_minutes,
)
from textcast.domain import campaigns, experiments
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.models import AbFallback, AbMetric, AbState, utcnow
from textcast.services import campaigns as campaign_services
from textcast.web.api.ids import Id
from textcast.web.api.inputs import Input
from textcast.web.auth import Sender, Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/campaigns", tags=["A/B tests"], dependencies=[guard(Permission.READ)]
)

VARIANTS_EXAMPLE: list[JsonValue] = [
    {"body": "Spring sale: 20% off at https://shop.example/a"},
    {"body": "Last day! 20% off everything at https://shop.example/b"},
]
_TEST_EXAMPLE: dict[str, JsonValue] = {"pool_percent": 20, "metric": "clicks", "decide_after": "4h"}


class VariantIn(Input):
    """One variant: a text (a text test), or a send time (a send-time test), never both."""

    body: Annotated[str | None, Field(max_length=campaigns.MAX_BODY_CHARS)] = None
    send_time: Annotated[
        str | None, Field(max_length=5, description="`HH:MM` in each recipient's time zone.")
    ] = None


def _a_span(value: object) -> object:
    """A span is written as text or minutes; `true` or `1.5` is neither (pydantic would
    read `true` as 1 minute)."""
    if isinstance(value, bool) or not isinstance(value, int | str | None):
        raise ValueError(DECIDE_AFTER_WORDS)
    return value


class AbTestSettingsIn(Input):
    """How the test pool is drawn and the winner chosen; each setting has its default."""

    pool_percent: int = Field(default=20, description="The share of the audience tested, 1-100.")
    metric: AbMetric = Field(
        default=AbMetric.CLICKS,
        description="What counts as a success: clicks (a short link opened; every variant "
        "needs a link), replies, delivery, or event (the event named in `event`).",
    )
    event: Annotated[str | None, Field(max_length=100)] = Field(
        default=None, description="For `metric: event`: the event's name, e.g. order_placed."
    )
    window_hours: int = Field(
        default=24, description="Replies and events count this long after each text, 1-720."
    )
    decide_after: Annotated[int | str | None, BeforeValidator(_a_span)] = Field(
        default="4h",
        description='How long after the test texts are sent the winner is chosen: "4h", '
        '"90m", "2d" or minutes; null: you pick it (`POST .../ab-test/pick`).',
        examples=["4h", "90m", None],
    )
    fallback: AbFallback = Field(
        default=AbFallback.FIRST,
        description="When no variant is better with enough confidence: send variant A "
        "(`variant_a`) or wait for your pick (`wait`).",
    )
    min_sample: int = Field(default=100, description="Texts per variant before it can win.")
    confidence: float = Field(
        default=0.95, description="How likely to be the best a winner must be: 0.5 up to 1."
    )
    seed: Annotated[str | None, Field(max_length=32)] = Field(
        default=None, description="Draws the pool: the same audience and seed, the same split."
    )


class AbTestIn(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"variants": VARIANTS_EXAMPLE, "test": _TEST_EXAMPLE}]}
    )

    variants: list[VariantIn] = Field(description="2-5 texts, or 2-3 send times.")
    test: AbTestSettingsIn | None = Field(
        default=None, description="Settings; defaults if left out."
    )


class PickIn(Input):
    variant: Annotated[str, Field(max_length=1, examples=["B"])]


def draft_of(
    variants: list[VariantIn] | None, test: AbTestSettingsIn | None, body: str | None = None
) -> experiments.AbTestDraft | None:
    """The test a request asks for: None without variants (and without settings). A `body`
    given beside text variants must be variant A's: the campaign's text is always A's."""
    if variants is None:
        if test is not None:
            raise InvalidInput(
                [FieldProblem("variants", "a test needs its variants: 2-5 texts or 2-3 send times")]
            )
        return None
    texts = [v.body for v in variants if v.body is not None]
    if body is not None and texts and body != texts[0]:
        words = "leave it out with text variants: the campaign's text is variant A's"
        raise InvalidInput([FieldProblem("body", words)])
    given = [VariantText(v.body, v.send_time) for v in variants]
    settings = AbTestSettings(**test.model_dump()) if test is not None else None
    return read_test(given, settings)


def fill_body(data: Any) -> Any:
    """A campaign given text variants and no body has variant A's (the schema still requires
    a body, so that a request without either names it among its other problems)."""
    if isinstance(data, dict) and "body" not in data and isinstance(data.get("variants"), list):
        first = next(iter(data["variants"]), None)
        if isinstance(first, dict) and isinstance(first.get("body"), str):
            return {**data, "body": first["body"]}
    return data


class VariantOut(BaseModel):
    label: str = Field(examples=["A"])
    body: str | None = Field(description="Its text; null in a send-time test.")
    send_time: str | None = Field(description="`HH:MM`, in a send-time test.")
    campaign_id: int | None = Field(
        description="The campaign sending it to its share of the test pool, once launched."
    )


class VariantResultOut(BaseModel):
    label: str
    campaign_id: int | None
    status: str | None = Field(description="Its campaign's status, once launched.")
    recipients: int
    sent: int = Field(description="Texts handed to Sinch (delivered ones, for delivery).")
    successes: int = Field(description="Clicks, replies, deliveries or events counted.")
    rate: float | None = Field(description="successes / sent; null before the first text.")
    low: float | None = Field(description="The rate's 95% credible interval, its low end.")
    high: float | None
    p_best: float | None = Field(
        description="How likely it is the best; null until every variant has enough data."
    )
    enough_data: bool = Field(description="At least `min_sample` texts sent.")


class AbTestOut(BaseModel):
    state: AbState
    pool_percent: int
    metric: AbMetric
    event: str | None
    window_hours: int
    decide_after: str | None = Field(description='E.g. "4h"; null: a manual pick.')
    decide_after_minutes: int | None
    fallback: AbFallback
    min_sample: int
    confidence: float
    seed: str
    pool_sent_at: datetime | None = Field(description="When the last test text was sent.")
    decide_at: datetime | None = Field(description="When the winner will be chosen.")
    winner: str | None
    decided_at: datetime | None
    decided_by: str | None = Field(description='"automatic", "fallback", or who picked.')
    reason: str | None = Field(description="Why the decision went as it did.")
    rest_campaign_id: int | None = Field(
        description="The campaign of the audience outside the pool: a draft until the decision."
    )
    rest_status: str | None
    rest_recipients: int
    rest_estimated_cost: float | None = Field(
        description="The rest's estimated cost with the winner's text, once it is launched."
    )
    rest_error: str | None = Field(
        description="Why the rest could not be sent yet (quota, budget); tried again."
    )
    results: list[VariantResultOut]
    enough_data: bool
    leader: str | None = Field(description="The variant most likely the best now.")
    ahead: str | None = Field(description="The variant that would win if decided now.")
    summary: str = Field(description="Where the test stands, in a sentence.")


class AbTestView(BaseModel):
    campaign_id: int
    variants: list[VariantOut]
    test: AbTestOut


def variants_out(found: experiments.AbResults | None) -> list[VariantOut]:
    if found is None:
        return []
    return [
        VariantOut(label=v.label, body=v.body, send_time=v.send_time, campaign_id=v.cell_id)
        for v in found.variants
    ]


def ab_test_out(found: experiments.AbResults | None) -> AbTestOut | None:
    if found is None:
        return None
    test = found.test
    return AbTestOut(
        state=test.state,
        pool_percent=test.pool_percent,
        metric=test.metric,
        event=test.event_name,
        window_hours=test.window_hours,
        decide_after=spell_minutes(test.decide_after_minutes),
        decide_after_minutes=test.decide_after_minutes,
        fallback=test.fallback,
        min_sample=test.min_sample,
        confidence=test.confidence,
        seed=test.seed,
        pool_sent_at=test.pool_sent_at,
        decide_at=test.decide_at,
        winner=test.winner,
        decided_at=test.decided_at,
        decided_by=test.decided_by,
        reason=(test.decision or {}).get("reason"),
        rest_campaign_id=test.rest_id,
        rest_status=found.rest_status,
        rest_recipients=found.rest_recipients,
        rest_estimated_cost=found.rest_estimated_cost,
        rest_error=test.rest_error,
        results=[
            VariantResultOut(
                label=v.label,
                campaign_id=v.cell_id,
                status=v.cell_status,
                recipients=v.recipients,
                sent=v.sent,
                successes=v.successes,
                rate=v.rate,
                low=v.low,
                high=v.high,
                p_best=v.p_best,
                enough_data=v.enough_data,
            )
            for v in found.variants
        ],
        enough_data=found.enough_data,
        leader=found.leader,
        ahead=found.ahead,
        summary=found.summary,
    )


def _view(campaign_id: int, found: experiments.AbResults | None) -> AbTestView:
    out = ab_test_out(found)
    if out is None:
        raise NotFound("A/B test of campaign", campaign_id)
    return AbTestView(campaign_id=campaign_id, variants=variants_out(found), test=out)


@router.get("/{campaign_id}/ab-test")
def get_test(campaign_id: Id, session: ReadSession) -> AbTestView:
    """The test's settings, where it stands and each variant's live figures. 404 when the
    campaign has no A/B test."""
    campaigns.get_campaign(session, campaign_id)
    return _view(campaign_id, experiments.results_of(session, campaign_id, utcnow()))


@router.put("/{campaign_id}/ab-test", responses=problems(409))
def set_test(
    campaign_id: Id, payload: AbTestIn, database: DatabaseDep, principal: Writer
) -> AbTestView:
    """Make a draft an A/B test, or replace its test. For a text test the campaign's text
    becomes variant A's. 409 once the campaign has been sent (or is part of another's test)."""
    draft = draft_of(payload.variants, payload.test)
    assert draft is not None
    campaign_services.set_test(database, Actor.of(principal), campaign_id, draft)
    return _view(campaign_id, campaign_services.ab_results(database, campaign_id))


@router.delete(
    "/{campaign_id}/ab-test", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409)
)
def remove_test(campaign_id: Id, database: DatabaseDep, principal: Writer) -> None:
    """The draft is an ordinary campaign again, with variant A's text. 409 once sent."""
    campaign_services.remove_test(database, Actor.of(principal), campaign_id)


@router.post("/{campaign_id}/ab-test/pick", responses=problems(409))
def pick_winner(
    campaign_id: Id, payload: PickIn, runtime: RuntimeDep, principal: Sender
) -> AbTestView:
    """Choose the winner yourself: the rest of the audience gets it now (through the normal
    launch: the quota, the budget and quiet hours apply; a refusal shows in `rest_error` and
    is tried again). 409 before the test is sent, or when another variant already won."""
    return _decide(campaign_id, runtime, principal, payload.variant.upper())


@router.post("/{campaign_id}/ab-test/decide", responses=problems(409))
def decide_now(campaign_id: Id, runtime: RuntimeDep, principal: Sender) -> AbTestView:
    """Decide now rather than at `decide_at`: the variant the figures favour with enough
    confidence wins; otherwise the fallback applies (variant A, or wait for a pick: the state
    becomes `waiting`). 409 before the test is sent."""
    return _decide(campaign_id, runtime, principal, None)


def _decide(
    campaign_id: int, runtime: RuntimeDep, principal: Sender, variant: str | None
) -> AbTestView:
    test = campaign_services.pick_winner(
        runtime.database, Actor.of(principal), campaign_id, runtime.policy, variant
    )
    if test.state == AbState.DECIDED and test.rest_error is None:
        runtime.wake_dispatcher()
    return _view(campaign_id, campaign_services.ab_results(runtime.database, campaign_id))
