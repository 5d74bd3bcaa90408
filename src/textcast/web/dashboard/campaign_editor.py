"""/campaigns/new and /campaigns/{id}/edit (the editor) and /campaigns/{id}/plan (the plan
before the send button).

The pages only read: the editor creates its draft with `POST /api/v1/campaigns` and changes it
with `PATCH /api/v1/campaigns/{id}`, the plan page sends with `POST /api/v1/campaigns/{id}/send`
(static/editor.js).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain import campaigns, experiments
from textcast.domain.audience import lists, segments
from textcast.domain.campaigns import planning
from textcast.domain.content import encoding
from textcast.domain.errors import Conflict
from textcast.models import (
    AbFallback,
    AbMetric,
    AbTest,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    utcnow,
)
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
    test: dict[str, object]
    """Its A/B test section's values (`test_values`)."""

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


def editor_refused(
    request: Request,
    principal: PageUser,
    campaign_id: int,
    form: Mapping[str, object],
    problems: list[dict[str, str]],
    message: str,
    status_code: int,
) -> Response:
    """The editor again after its test section was refused (posted without the script): the
    section as posted, each problem next to its field."""
    runtime = request.app.state.runtime
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        editing = _editing(session, campaign)
    posted = posted_test_values(form)
    if "body" in form:
        editing.campaign.body = str(form["body"])
    return _editor(
        request,
        principal,
        runtime,
        Editing(
            editing.campaign,
            editing.numbers,
            editing.number_count,
            editing.lists,
            editing.segments,
            posted,
        ),
        errors={p["field"]: p["message"] for p in problems},
        message=message,
        status_code=status_code,
    )


def _editor(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    editing: Editing | None,
    errors: Mapping[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    with runtime.database.read() as session:
        audience_lists = lists.list_lists(session)
        audience_segments = segments.list_segments(session)
        fields = sorted(campaigns.known_fields(session))
    return render(
        request,
        "editor.html",
        principal,
        status_code,
        ab=editing.test if editing else test_values(None, []),
        ab_errors=errors or {},
        ab_message=message,
        ab_labels=experiments.LABELS,
        metrics=[(m.value, METRIC_CHOICES[m]) for m in AbMetric],
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
        test_values(
            experiments.ab_test_of(session, campaign.id),
            experiments.variants_of(session, campaign.id),
        ),
    )


METRIC_CHOICES = {
    AbMetric.CLICKS: "Click rate (opened a link)",
    AbMetric.REPLIES: "Reply rate (texted back)",
    AbMetric.DELIVERY: "Delivery rate",
    AbMetric.EVENT: "An event (e.g. an order placed)",
}


def test_values(test: AbTest | None, rows: Sequence[CampaignVariant]) -> dict[str, object]:
    """The editor's A/B test section filled in: a draft's test, or the defaults."""
    values: dict[str, object] = {
        "enabled": False,
        "kind": "texts",
        "bodies": {},
        "times": {},
        "count": 2,
        "pool_percent": 20,
        "metric": AbMetric.CLICKS.value,
        "event_name": "",
        "window_hours": 24,
        "decide": "after",
        "decide_after_hours": 4,
        "fallback": AbFallback.FIRST.value,
        "min_sample": 100,
        "confidence": 0.95,
    }
    if test is None:
        return values
    times = any(row.local_send_time for row in rows)
    minutes = test.decide_after_minutes
    values.update(
        enabled=True,
        kind="times" if times else "texts",
        bodies={row.label: row.body or "" for row in rows},
        times={row.label: row.local_send_time or "" for row in rows},
        count=max(2, len(rows)),
        pool_percent=test.pool_percent,
        metric=str(test.metric),
        event_name=test.event_name or "",
        window_hours=test.window_hours,
        decide="manual" if minutes is None else "after",
        decide_after_hours=_hours(minutes if minutes is not None else 240),
        fallback=str(test.fallback),
        min_sample=test.min_sample,
        confidence=test.confidence,
    )
    return values


def posted_test_values(form: Mapping[str, object]) -> dict[str, object]:
    """The section as it was posted (refused), to show it again as written."""
    values = test_values(None, [])
    labels = experiments.LABELS
    given = {key: str(form.get(key) or "") for key in values if key in form}
    values.update(given)
    values["enabled"] = form.get("ab_enabled") in ("on", "true", "1")
    values["kind"] = "times" if form.get("ab_kind") == "times" else "texts"
    values["bodies"] = {label: str(form.get(f"variant_body_{label}") or "") for label in labels}
    values["times"] = {label: str(form.get(f"send_time_{label}") or "") for label in labels}
    written = [label for label in labels[2:] if str(form.get(f"variant_body_{label}") or "")]
    values["count"] = 2 + len(written)
    return values


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return str(int(hours)) if hours.is_integer() else f"{hours:g}"


@router.get("/campaigns/{campaign_id:int}/plan", response_class=HTMLResponse)
def campaign_plan(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    blocked = None
    result = None
    test_plan = None
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        # A plan is what a launch would do: for a draft only.
        if campaign.status == CampaignStatus.DRAFT:
            try:
                now = utcnow()
                result = planning.plan(session, campaign, runtime.policy, now)
                test_plan = experiments.plan_test(session, campaign, runtime.policy, now)
            except Conflict as refused:  # a segment broken or deleted since the draft was made
                blocked = str(refused)
    return render(
        request,
        "plan.html",
        principal,
        campaign=campaign,
        plan=result,
        test_plan=test_plan,
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
