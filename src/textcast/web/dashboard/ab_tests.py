"""A campaign's A/B test on its pages: the editor's test section saved, and the winner picked
from the campaign's results card.

Posted as plain forms with the session's CSRF token (a field, or the header when the editor's
script sends them), so that the basics work without a script. The editor's script asks for
JSON (`Accept: application/json`) and places each problem next to its field itself; without a
script, a refused test shows the editor again with the problems in place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.errors import Conflict, FieldProblem, Forbidden, InvalidInput
from textcast.domain.experiments import LABELS, AbTestDraft
from textcast.models import AbFallback, AbMetric
from textcast.runtime import Runtime
from textcast.services import campaigns as campaign_services
from textcast.web.api.campaigns import CampaignIn
from textcast.web.auth import CSRF_HEADER, check_csrf, client_ip
from textcast.web.dashboard import campaign_editor
from textcast.web.dashboard.shell import PageUser, page_id
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)

MAX_FIELD_CHARS = 300
WHOLE = "must be a whole number"
A_NUMBER = "must be a number"
FIELD_WORDS = {
    "variants": "Variants",
    "test.pool_percent": "Test pool",
    "test.event": "Event",
    "test.window_hours": "Counting window",
    "test.decide_after": "Decision",
    "test.min_sample": "Minimum sample",
    "test.confidence": "Confidence",
    "test.metric": "Metric",
    "test.seed": "Seed",
}
"""The test's fields as its section names them: a refusal reads "Test pool: must be 1 to 100"."""


@router.post("/campaigns/{campaign_id:int}/ab-test")
async def save_test(
    request: Request, campaign_id: int, principal: PageUser, runtime: RuntimeDep
) -> Response:
    """Make the draft an A/B test, change its test, or (switch off) make it plain again."""
    form = await request.form()
    _allowed(request, principal, form, Permission.WRITE)
    campaign_id = page_id(campaign_id, "campaign")
    # The database is used synchronously: off the event loop, as FastAPI runs a plain `def`.
    return await run_in_threadpool(_save_test, request, principal, runtime, campaign_id, form)


def _save_test(
    request: Request, principal: Principal, runtime: Runtime, campaign_id: int, form: FormData
) -> Response:
    actor = _actor(request, principal)
    try:
        draft = parse_test(form, str(form.get("body", "")))
        if draft is None:
            campaign_services.remove_test(runtime.database, actor, campaign_id)
        else:
            campaign_services.set_test(runtime.database, actor, campaign_id, draft)
    except (InvalidInput, Conflict) as refused:
        return _refused(request, principal, campaign_id, form, refused)
    if _wants_json(request):
        return JSONResponse({"id": campaign_id})
    return RedirectResponse(f"/campaigns/{campaign_id}/plan", status_code=303)


@router.post("/campaigns/ab-test")
async def create_test(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    """A new draft and its test in one transaction (the editor's script posts the campaign as
    the API takes it, in the `campaign` field): a refused test leaves no draft behind."""
    form = await request.form()
    _allowed(request, principal, form, Permission.WRITE)
    return await run_in_threadpool(_create_test, request, principal, runtime, form)


def _create_test(
    request: Request, principal: Principal, runtime: Runtime, form: FormData
) -> Response:
    try:
        payload = _campaign_in(str(form.get("campaign", "")))
        draft = parse_test(form, payload.body)
        campaign = campaign_services.create(
            runtime.database,
            _actor(request, principal),
            payload.draft(runtime.settings.sinch_number),
            runtime.settings.default_region,
            test=draft,
        )
    except (InvalidInput, Conflict) as refused:
        return _refused(request, principal, None, form, refused)
    return JSONResponse({"id": campaign.id}, status_code=201)


@router.post("/campaigns/{campaign_id:int}/ab-pick")
def pick_winner(
    request: Request,
    campaign_id: int,
    principal: PageUser,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "",
    variant: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The winner picked by hand (a variant's button, or "Send the winner now" with the
    leader): the rest of the audience gets it, and the dispatcher is woken for it."""
    check_csrf(principal, csrf_token, "the csrf_token field")
    if not principal.can(Permission.SEND):
        raise Forbidden(f"this needs the {Permission.SEND.value} permission")
    campaign_id = page_id(campaign_id, "campaign")
    try:
        campaign_services.pick_winner(
            runtime.database,
            _actor(request, principal),
            campaign_id,
            runtime.policy,
            variant=variant or None,
        )
    except (InvalidInput, Conflict) as refused:
        return RedirectResponse(
            f"/campaigns/{campaign_id}?pick_error={_words(refused)}", status_code=303
        )
    runtime.wake_dispatcher()
    return RedirectResponse(f"/campaigns/{campaign_id}#ab-results", status_code=303)


def parse_test(form: Mapping[str, object], body: str) -> AbTestDraft | None:
    """The section's fields as a draft of the test (variant A's text is the campaign's
    `body`); a number that is not one is refused under its field's name."""
    if form.get("ab_enabled") not in ("on", "true", "1"):
        return None
    problems: list[FieldProblem] = []

    def number(name: str, field: str, default: float, *, whole: bool = True) -> float:
        raw = str(form.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (whole and not value.is_integer()):
            problems.append(FieldProblem(field, WHOLE if whole else A_NUMBER))
            return default
        return value

    pool = int(number("pool_percent", "test.pool_percent", 20))
    window = int(number("window_hours", "test.window_hours", 24))
    min_sample = int(number("min_sample", "test.min_sample", 100))
    hours = number("decide_after_hours", "test.decide_after", 4, whole=False)
    confidence = number("confidence", "test.confidence", 0.95, whole=False)
    metric_value = str(form.get("metric") or AbMetric.CLICKS)
    metric = AbMetric(metric_value) if metric_value in set(AbMetric) else AbMetric.CLICKS
    fallback_value = str(form.get("fallback") or AbFallback.FIRST)
    fallback = AbFallback(fallback_value) if fallback_value in set(AbFallback) else AbFallback.FIRST
    if problems:
        raise InvalidInput(problems)
    bodies: list[str] = []
    send_times: list[str] = []
    if form.get("ab_kind") == "times":
        send_times = [str(form.get(f"send_time_{label}") or "")[:5] for label in LABELS[:3]]
        # Two times at least; a third only when given.
        send_times = send_times[:2] + [t for t in send_times[2:] if t]
    else:
        bodies = [body, *_other_bodies(form)]
    return AbTestDraft(
        bodies=bodies,
        send_times=send_times,
        pool_percent=pool,
        metric=metric,
        event_name=str(form.get("event_name") or "").strip() or None
        if metric == AbMetric.EVENT
        else None,
        window_hours=window,
        decide_after_minutes=round(hours * 60) if form.get("decide") != "manual" else None,
        fallback=fallback,
        min_sample=min_sample,
        confidence=confidence,
    )


def _other_bodies(form: Mapping[str, object]) -> list[str]:
    """Variants B to E: as many as the tabs say (`variant_count`), or, without the script,
    B and any later one written."""
    others = [str(form.get(f"variant_body_{label}") or "") for label in LABELS[1:]]
    raw = str(form.get("variant_count") or "")
    if raw.isdigit():
        return others[: max(1, min(int(raw), len(LABELS)) - 1)]
    return others[:1] + [b for b in others[1:] if b.strip()]


def _campaign_in(raw: str) -> CampaignIn:
    try:
        return CampaignIn.model_validate_json(raw or "{}")
    except ValidationError as bad:
        raise InvalidInput(
            [
                FieldProblem(".".join(str(p) for p in error["loc"]) or "campaign", error["msg"])
                for error in bad.errors()
            ]
        ) from None


def explain(problem: FieldProblem) -> str:
    """A problem as the section shows it next to its field."""
    if problem.field.startswith("variants["):
        index = problem.field[len("variants[") :].split("]")[0]
        label = LABELS[int(index)] if index.isdigit() and int(index) < len(LABELS) else "?"
        what = "text" if problem.field.endswith(".body") else "send time"
        return f"Variant {label}'s {what}: {problem.message}"
    words = FIELD_WORDS.get(problem.field)
    return f"{words}: {problem.message}" if words else problem.message


def _refused(
    request: Request,
    principal: Principal,
    campaign_id: int | None,
    form: FormData,
    refused: Exception,
) -> Response:
    problems = refused.problems if isinstance(refused, InvalidInput) else []
    status = 422 if isinstance(refused, InvalidInput) else 409
    listed = [{"field": p.field, "message": explain(p)} for p in problems]
    message = (
        f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the A/B test"
        if problems
        else str(refused)
    )
    if _wants_json(request) or campaign_id is None:
        return JSONResponse({"message": message, "problems": listed}, status_code=status)
    # Without a script: the editor again, as posted, the problems next to their fields.
    return campaign_editor.editor_refused(
        request, principal, campaign_id, form, listed, message, status
    )


def _words(refused: Exception) -> str:
    return quote(str(refused)[:300])


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _allowed(
    request: Request, principal: Principal, form: FormData, permission: Permission
) -> None:
    presented = request.headers.get(CSRF_HEADER) or str(form.get("csrf_token") or "")
    check_csrf(principal, presented, "the csrf_token field")
    if not principal.can(permission):
        raise Forbidden(f"this needs the {permission.value} permission")


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.actor, principal.user_id, client_ip(request))
