"""/campaigns/new and /campaigns/{id}/edit (the editor) and /campaigns/{id}/plan (the plan
before the send button).

The pages only read: the editor creates its draft with `POST /api/v1/campaigns` and changes it
with `PATCH /api/v1/campaigns/{id}`, the plan page sends with `POST /api/v1/campaigns/{id}/send`
(static/editor.js).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain import campaigns
from textcast.domain.audience import lists, segments
from textcast.domain.campaigns import planning
from textcast.domain.content import encoding
from textcast.domain.errors import Conflict
from textcast.models import Campaign, CampaignRecipient, CampaignStatus, utcnow
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
FILLED_NUMBERS = 1000
"""A draft's numbers shown in the editor at most; beyond, they are kept unless replaced."""


@dataclass(frozen=True, slots=True)
class Editing:
    """The draft the editor reopens, as its form shows it."""

    campaign: Campaign
    numbers: list[str]
    """Its numbers, one per line in the form; empty when there are too many to show."""
    number_count: int
    lists: frozenset[int]
    segments: frozenset[int]

    @property
    def numbers_hidden(self) -> bool:
        return self.number_count > len(self.numbers)


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    return _editor(request, principal, runtime, None)


@router.get("/campaigns/{campaign_id:int}/edit", response_class=HTMLResponse)
def edit_campaign(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    """The editor filled in with a draft (or a scheduled campaign before its start); a
    campaign past changing goes to its own page."""
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        if not campaigns.editable(campaign, utcnow()):
            return RedirectResponse(f"/campaigns/{campaign.id}", status_code=303)
        editing = _editing(session, campaign)
    return _editor(request, principal, runtime, editing)


def _editor(
    request: Request, principal: PageUser, runtime: RuntimeDep, editing: Editing | None
) -> Response:
    with runtime.database.read() as session:
        audience_lists = lists.list_lists(session)
        audience_segments = segments.list_segments(session)
        fields = sorted(campaigns.known_fields(session))
    return render(
        request,
        "editor.html",
        principal,
        lists=audience_lists,
        segments=audience_segments,
        fields=fields,
        currency=runtime.policy.prices.currency,
        default_sender=runtime.settings.sinch_number,
        counting=counting_tables(),
        editing=editing,
    )


def _editing(session: Session, campaign: Campaign) -> Editing:
    numbers = list(
        session.scalars(
            select(CampaignRecipient.phone)
            .where(CampaignRecipient.campaign_id == campaign.id)
            .limit(FILLED_NUMBERS + 1)
        )
    )
    count = len(numbers)
    if count > FILLED_NUMBERS:
        count = (
            session.scalar(
                select(func.count())
                .select_from(CampaignRecipient)
                .where(CampaignRecipient.campaign_id == campaign.id)
            )
            or 0
        )
        numbers = []
    audience = campaign.audience or {}
    return Editing(
        campaign,
        numbers,
        count,
        frozenset(audience.get("lists", [])),
        frozenset(audience.get("segments", [])),
    )


@router.get("/campaigns/{campaign_id:int}/plan", response_class=HTMLResponse)
def campaign_plan(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    blocked = None
    result = None
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        # A plan is what a launch would do: for a draft only.
        if campaign.status == CampaignStatus.DRAFT:
            try:
                result = planning.plan(session, campaign, runtime.policy, utcnow())
            except Conflict as refused:  # a segment broken or deleted since the draft was made
                blocked = str(refused)
    return render(
        request,
        "plan.html",
        principal,
        campaign=campaign,
        plan=result,
        blocked=blocked,
        editable=campaigns.editable(campaign, utcnow()),
    )


def counting_tables() -> dict[str, object]:
    """The server's character tables and part sizes: the page counts as you type with them,
    and the API's answer, a moment later, is the truth."""
    return {
        "basic": "".join(sorted(encoding.GSM7_BASIC)),
        "extension": "".join(sorted(encoding.GSM7_EXTENSION)),
        "gsm7": [encoding.GSM7_SINGLE, encoding.GSM7_PART],
        "ucs2": [encoding.UCS2_SINGLE, encoding.UCS2_PART],
    }
