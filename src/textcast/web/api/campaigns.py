"""`/api/v1/campaigns`: create, change, delete, plan, send, control, progress. (Their messages:
`campaign_messages`; their A/B tests: `ab_tests`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from textcast.domain import campaigns, experiments
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.reporting import figures
from textcast.models import Campaign, utcnow
from textcast.plan_presenter import PlanOut, plan_out
from textcast.services import campaigns as campaign_services
from textcast.web.api import ab_tests
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import Sender, Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep, SettingsDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/campaigns", tags=["campaigns"], dependencies=[guard(Permission.READ)]
)


class CampaignIn(Input):
    name: Annotated[str, Field(max_length=campaigns.MAX_NAME_CHARS)]
    body: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)] = Field(
        description="The text; with text `variants`, leave it out: it is variant A's."
    )
    recipients: list[str] = Field(
        default=[], description="Phone numbers, E.164 or national (DEFAULT_REGION)."
    )
    lists: list[IdIn] = Field(default=[], description="Lists whose subscribed contacts get it.")
    segments: list[IdIn] = Field(default=[], description="Segments, evaluated at launch.")
    sender: str | None = Field(
        default=None, description="Sender number or alphanumeric ID; SINCH_NUMBER by default."
    )
    smart_encoding: bool = Field(
        default=False,
        strict=True,
        description="Replace characters that force UCS-2 (curly quotes, dashes, ...) at send.",
    )
    send_at: datetime | None = Field(
        default=None,
        description="Start at this time (with its time zone); default: at send. Refused in "
        "the past, beyond a minute's grace.",
    )
    local_send_time: str | None = Field(
        default=None,
        description="`HH:MM`: send at this time in each recipient's own time zone.",
        max_length=5,
    )
    expires_at: datetime | None = Field(
        default=None,
        description="Messages still held by quiet hours at this time are skipped instead.",
    )
    budget: float | None = Field(
        default=None,
        description="Spending cap (price table currency): launch refused above the estimate, "
        "paused when reached.",
    )
    variants: list[ab_tests.VariantIn] | None = Field(
        default=None,
        description="An A/B test: 2-5 texts (`{body}`) or 2-3 send times (`{send_time}`), "
        "tried on a test pool before the winner goes to the rest (`PUT .../ab-test` changes it).",
        examples=[ab_tests.VARIANTS_EXAMPLE],
    )
    test: ab_tests.AbTestSettingsIn | None = Field(
        default=None,
        description="The A/B test's settings (needs `variants`); defaults if left out.",
    )

    _body_of_variant_a = model_validator(mode="before")(ab_tests.fill_body)

    def draft(self, default_sender: str | None) -> campaigns.CampaignDraft:
        """The draft it describes (without its A/B test: `ab_tests.draft_of`)."""
        return campaigns.CampaignDraft(
            name=self.name,
            body=self.body,
            recipients=self.recipients,
            sender=self.sender or default_sender,
            list_ids=self.lists,
            segment_ids=self.segments,
            smart_encoding=self.smart_encoding,
            send_at=self.send_at,
            local_send_time=self.local_send_time,
            expires_at=self.expires_at,
            budget=self.budget,
        )


class CampaignPatch(Input):
    """The fields of `CampaignIn` to change, each optional: those left out keep their value,
    `null` clears an optional one (sender, send_at, local_send_time, expires_at, budget)."""

    name: Annotated[str | None, Field(max_length=campaigns.MAX_NAME_CHARS)] = None
    body: Annotated[str | None, Field(max_length=campaigns.MAX_BODY_CHARS)] = None
    recipients: list[str] | None = Field(
        default=None, description="Replace the phone numbers (E.164 or national)."
    )
    lists: list[IdIn] | None = Field(default=None, description="Replace the lists.")
    segments: list[IdIn] | None = Field(default=None, description="Replace the segments.")
    sender: str | None = Field(
        default=None, description="Sender number or alphanumeric ID; null: SINCH_NUMBER."
    )
    smart_encoding: bool | None = Field(
        default=None, strict=True, description="Replace characters that force UCS-2 at send."
    )
    send_at: datetime | None = Field(
        default=None,
        description="Start at this time (with its time zone), not in the past; null: at send.",
    )
    local_send_time: str | None = Field(
        default=None, description="`HH:MM` in each recipient's own time zone.", max_length=5
    )
    expires_at: datetime | None = Field(
        default=None, description="Skip what quiet hours still hold then; null: never."
    )
    budget: float | None = Field(default=None, description="Spending cap; null: none.")


_REQUIRED = ("name", "body", "recipients", "lists", "segments", "smart_encoding")
"""Fields a change may leave out but not clear."""
_DRAFT_NAMES = {"lists": "list_ids", "segments": "segment_ids"}


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    client_reference: str
    body: str
    sender: str | None
    encoding: str
    parts: int
    recipient_count: int = Field(
        description="Launched: its messages, as launch counted them (`figures.messages`). "
        "Draft: its own phone numbers; its lists and segments are counted by the plan."
    )
    kind: str
    smart_encoding: bool
    short_links: bool
    send_at: datetime | None
    local_send_time: str | None
    expires_at: datetime | None
    budget: float | None
    estimated_cost: float | None
    spent: float = Field(
        description="The budget ledger: reserved for messages on their way to Sinch. What "
        "the messages Sinch took cost is `figures.spent` (`GET /api/v1/campaigns/{id}`)."
    )
    status_reason: str | None = Field(description="Why it is paused, cancelled or failed.")
    parent_id: int | None = Field(description="The A/B test it sends a part of, if any.")
    variant: str | None = Field(description="The test's variant it sends: A, B... (or null).")
    created_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            client_reference=campaign.reference,
            body=campaign.body,
            sender=campaign.sender,
            encoding=campaign.encoding,
            parts=campaign.parts,
            recipient_count=campaign.recipient_count,
            kind=campaign.kind,
            smart_encoding=campaign.smart_encoding,
            short_links=campaign.short_links,
            send_at=campaign.send_at,
            local_send_time=campaign.local_send_time,
            expires_at=campaign.expires_at,
            budget=campaign.budget,
            estimated_cost=campaign.estimated_cost,
            spent=campaign.spent,
            status_reason=campaign.status_reason,
            parent_id=campaign.parent_id,
            variant=campaign.variant,
            created_at=campaign.created_at,
            launched_at=campaign.launched_at,
            completed_at=campaign.completed_at,
        )


class FiguresOut(BaseModel):
    """A campaign's figures, read together in one statement: they always add up.

    messages = skipped + waiting + refused + sent; sent = with_sinch + delivered +
    not_delivered. The same definitions serve the dashboard, the analytics and the CLI."""

    model_config = ConfigDict(from_attributes=True)

    messages: int = Field(description=figures.STAGES["messages"])
    skipped: int = Field(description=figures.STAGES["skipped"])
    waiting: int = Field(description=figures.STAGES["waiting"])
    refused: int = Field(description=figures.STAGES["refused"])
    sent: int = Field(description=figures.STAGES["sent"])
    with_sinch: int = Field(description=figures.STAGES["with_sinch"])
    delivered: int = Field(description=figures.STAGES["delivered"])
    not_delivered: int = Field(description=figures.STAGES["not_delivered"])
    final: int = Field(description=figures.STAGES["final"])
    delivery_rate: float | None = Field(
        description="delivered / (delivered + not_delivered + refused); null before the first."
    )
    parts_planned: int = Field(description=figures.STAGES["parts_planned"])
    parts_sent: int = Field(description=figures.STAGES["parts_sent"])
    spent: float = Field(description=figures.STAGES["spent"])


class CampaignProgressOut(CampaignOut):
    counts: dict[str, int] = Field(description="Messages per status, live.")
    total: int = Field(description="Every message: `figures.messages`.")
    final: int = Field(
        description="Messages that reached a final status (or were skipped): `figures.final`."
    )
    figures: FiguresOut = Field(description="The funnel, parts and spend, read together.")
    variants: list[ab_tests.VariantOut] = Field(description="Its A/B test's variants, if any.")
    test: ab_tests.AbTestOut | None = Field(description="Its A/B test and figures, or null.")


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for older campaigns; null at the end."
    )


@router.get("")
def list_campaigns(
    session: ReadSession,
    cursor: Annotated[Id | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CampaignPage:
    rows = campaigns.list_campaigns(session, before_id=cursor, limit=limit)
    return CampaignPage(
        items=[CampaignOut.of(c) for c in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_campaign(
    payload: CampaignIn, database: DatabaseDep, settings: SettingsDep, principal: Writer
) -> CampaignOut:
    """A draft; with `variants`, an A/B test (`GET .../ab-test` shows it)."""
    test = ab_tests.draft_of(payload.variants, payload.test, payload.body)
    draft = payload.draft(settings.sinch_number)
    campaign = campaign_services.create(
        database, Actor.of(principal), draft, settings.default_region, test
    )
    return CampaignOut.of(campaign)


@router.patch("/{campaign_id}", responses=problems(409))
def update_campaign(
    campaign_id: Id,
    payload: CampaignPatch,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Writer,
) -> CampaignOut:
    """Change a draft, or a scheduled campaign before its start, with the checks of a new one.

    Only the fields given change. A scheduled campaign becomes a draft again: the messages
    its launch wrote are deleted, and it is planned and sent (or scheduled) anew. 409 for a
    campaign that is sending, has been sent, or whose start has come."""
    given = payload.model_dump(exclude_unset=True)
    cleared = [name for name in _REQUIRED if name in given and given[name] is None]
    if cleared:
        raise InvalidInput(
            [FieldProblem(name, "cannot be null: leave it out to keep it") for name in cleared]
        )
    if "sender" in given:
        given["sender"] = given["sender"] or settings.sinch_number
    changes = {_DRAFT_NAMES.get(name, name): value for name, value in given.items()}
    edited = campaign_services.edit(
        database, Actor.of(principal), campaign_id, changes, settings.default_region
    )
    return CampaignOut.of(edited.campaign)


class DeletedOut(BaseModel):
    id: int
    name: str
    status: str = Field(description="What it was: draft or scheduled.")
    messages_deleted: int = Field(
        description="Messages a scheduled campaign's launch had written, deleted unsent."
    )


@router.delete("/{campaign_id}", responses=problems(409))
def delete_campaign(campaign_id: Id, database: DatabaseDep, principal: Writer) -> DeletedOut:
    """Delete a draft, or a scheduled campaign before its start, with its audience and any
    messages written for it. 409 once it is sending or has been sent (cancel it instead)."""
    deleted = campaign_services.delete(database, Actor.of(principal), campaign_id)
    return DeletedOut(
        id=deleted.campaign_id,
        name=deleted.name,
        status=deleted.status,
        messages_deleted=deleted.messages,
    )


@router.post("/{campaign_id}/send", status_code=status.HTTP_202_ACCEPTED, responses=problems(409))
def send_campaign(campaign_id: Id, runtime: RuntimeDep, principal: Sender) -> CampaignOut:
    """Launch: one message per recipient, then sending starts (or waits for `send_at`).

    429 when the audience would pass the rolling 24-hour quota; 409 above the per-campaign
    maximum or the budget, or when nobody would get it (the audience is empty, or everyone in
    it is left out: opted out, invalid...)."""
    campaign = campaign_services.launch(
        runtime.database, Actor.of(principal), campaign_id, runtime.policy
    )
    runtime.wake_dispatcher()
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/plan")
def plan_campaign(campaign_id: Id, runtime: RuntimeDep) -> PlanOut:
    """Who gets what, in how many parts, at what cost, finishing when: nothing is written."""
    result, test = campaign_services.plan_with_variants(
        runtime.database, campaign_id, runtime.policy
    )
    return plan_out(campaign_id, result, test)


@router.post("/{campaign_id}/pause", responses=problems(409))
def pause_campaign(campaign_id: Id, runtime: RuntimeDep, principal: Sender) -> CampaignOut:
    """Nothing more is handed to Sinch; batches already sent go on. 409 unless scheduled or
    sending."""
    campaign = campaign_services.pause(runtime.database, Actor.of(principal), campaign_id)
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/resume", responses=problems(409))
def resume_campaign(campaign_id: Id, runtime: RuntimeDep, principal: Sender) -> CampaignOut:
    """409 unless paused (or when its budget is spent: raise it first)."""
    campaign = campaign_services.resume(runtime.database, Actor.of(principal), campaign_id)
    runtime.wake_dispatcher()
    return CampaignOut.of(campaign)


class BudgetIn(Input):
    budget: float = Field(gt=0)


@router.put("/{campaign_id}/budget")
def set_budget(
    campaign_id: Id, payload: BudgetIn, runtime: RuntimeDep, principal: Sender
) -> CampaignOut:
    campaign = campaign_services.set_budget(
        runtime.database, Actor.of(principal), campaign_id, payload.budget
    )
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/cancel", responses=problems(409))
async def cancel_campaign(campaign_id: Id, runtime: RuntimeDep, principal: Sender) -> CampaignOut:
    """Skips every message not yet handed over and cancels Sinch batches still in its queue."""
    campaign, provider_ids = await run_in_threadpool(
        campaign_services.cancel, runtime.database, Actor.of(principal), campaign_id
    )
    await runtime.cancel_provider_batches(provider_ids)
    return CampaignOut.of(campaign)


@router.post(
    "/{campaign_id}/duplicate", status_code=status.HTTP_201_CREATED, responses=problems(409)
)
def duplicate_campaign(campaign_id: Id, runtime: RuntimeDep, principal: Writer) -> CampaignOut:
    """A new draft with the same body, audience and options."""
    campaign = campaign_services.duplicate(runtime.database, Actor.of(principal), campaign_id)
    return CampaignOut.of(campaign)


class TestIn(Input):
    phone: str = Field(max_length=32, description="E.164, or national in DEFAULT_REGION.")


@router.post("/{campaign_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=problems(409))
def test_campaign(
    campaign_id: Id, payload: TestIn, runtime: RuntimeDep, principal: Sender
) -> CampaignOut:
    """Send the text, rendered for that number's contact, to one number now."""
    campaign = campaign_services.send_test(
        runtime.database,
        Actor.of(principal),
        campaign_id,
        payload.phone,
        runtime.settings.default_region,
        runtime.policy,
    )
    runtime.wake_dispatcher()
    return CampaignOut.of(campaign)


@router.get("/{campaign_id}")
def get_campaign(campaign_id: Id, session: ReadSession, runtime: RuntimeDep) -> CampaignProgressOut:
    """The campaign with its live figures (`figures`: see its fields for the definitions)."""
    campaign = campaigns.get_campaign(session, campaign_id)
    counted = figures.campaign_figures(session, campaign_id, runtime.policy.prices)
    found = experiments.results_of(session, campaign_id, utcnow())
    return CampaignProgressOut(
        **CampaignOut.of(campaign).model_dump(),
        counts=counted.by_status,
        total=counted.messages,
        final=counted.final,
        figures=figures_out(counted),
        variants=ab_tests.variants_out(found),
        test=ab_tests.ab_test_out(found),
    )


def figures_out(counted: figures.Figures) -> FiguresOut:
    return FiguresOut.model_validate(counted)
