"""`/join/{slug}`: a list's public sign-up form, hosted here and embeddable anywhere its
operator allows, and the most abused surface of an SMS tool (SMS pumping).

Defences, cheapest first: the body's size, the per-address limit (before the database), the
origin the form may be sent from, the honeypot, the form's fields and the number's country
(before anything is stored or sent), the per-number limit, then the core's caps (one
confirmation text per number per day, the form's hourly cap, the daily quota). Refusals are
counted as the form's `blocked` without a write per request (`services.signups.FormActivity`).
The page needs no cookie and sets none; no script either.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ConfigDict, Field

from textcast.domain.accounts.permissions import Permission
from textcast.domain.errors import InvalidInput, TooManyRequests
from textcast.domain.phones.numbers import mask_phone
from textcast.domain.signups import submissions
from textcast.domain.signups.submissions import HONEYPOT, PHONE, InvalidSubmission
from textcast.models import SignupForm
from textcast.services import signups
from textcast.services.signups import FormActivity, FormCache, SubmissionGroups
from textcast.web import join_http
from textcast.web.api.inputs import Input
from textcast.web.auth import client_ip, guard, rate_limits
from textcast.web.deps import get_runtime
from textcast.web.join_words import language_of, words_in

log = logging.getLogger("textcast.signups")

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(tags=["public"])
preview_router = APIRouter(
    prefix="/api/v1/forms", tags=["forms"], dependencies=[guard(Permission.WRITE)]
)

EMBEDDED_IN = join_http.EMBEDDED_IN
_INPUT_TYPES = {"email": "email", "birthday": "date"}
_AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "birthday": "bday",
}


def _answers(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/html": {}, "application/json": {"schema": join_http.ANSWER_SCHEMA}},
    }


def activity(request: Request) -> FormActivity:
    counters: FormActivity = request.app.state.form_activity
    return counters


def form_cache(request: Request) -> FormCache:
    forms: FormCache = request.app.state.signup_forms
    return forms


def submission_groups(request: Request) -> SubmissionGroups:
    groups: SubmissionGroups = request.app.state.signup_groups
    return groups


# -- the hosted page ---------------------------------------------------------------------------


@router.get("/join/{slug}", include_in_schema=False)
def hosted_page(
    slug: str, request: Request, preview: bool = False, lang: str | None = None
) -> Response:
    """`?preview=1` counts no view and reads the form as saved this instant (the operator
    looking at it); the public page is read through the forms' cache, like submissions, so
    that a flood of views costs no database read per request."""
    if preview:
        form = signups.find_form(get_runtime(request).database, slug)
    else:
        form = form_cache(request).get(slug)
    if form is None:
        return _not_found(request, lang)
    if not preview:
        activity(request).viewed(slug)
    language = language_of(lang, form.language)
    embedded_in = request.headers.get("referer", "")[: submissions.MAX_URL_CHARS]
    return _page(request, form, language, {EMBEDDED_IN: embedded_in}, {}, 200)


@router.get("/join/{slug}/thanks", include_in_schema=False)
def thanks_page(slug: str, request: Request, lang: str | None = None) -> Response:
    form = form_cache(request).get(slug)
    if form is None:
        return _not_found(request, lang)
    language = language_of(lang, form.language)
    context = {"form": form, "words": words_in(language), "lang": language}
    context["message"] = _thanks(form, language)
    return templates.TemplateResponse(
        request, "join_thanks.html", context, headers=join_http.page_headers(form)
    )


@router.options("/join/{slug}", include_in_schema=False)
def preflight(slug: str, request: Request) -> Response:
    """CORS for fetch-based embeds: only an origin the form names is allowed, never with
    credentials."""
    form = form_cache(request).get(slug)
    origin = request.headers.get("origin")
    if form is None or not origin or origin not in join_http.origins(form):
        return Response(status_code=403, headers={"vary": "Origin"})
    return Response(
        status_code=204,
        headers={
            **join_http.cors(form, origin),
            "access-control-allow-methods": "POST",
            "access-control-allow-headers": "Content-Type, Accept",
            "access-control-max-age": "600",
        },
    )


@router.post(
    "/join/{slug}",
    summary="Sign up to a list through its public form",
    description=(
        "The public endpoint of a sign-up form: no key, no cookie, no CSRF token. A browser "
        "posting the hosted page or an embedded HTML form is sent on (303) to the thank-you "
        "page or the form's redirect URL; bad input gets the page back (422) with each "
        "field's error. A JSON body, or `Accept: application/json`, gets JSON answers "
        "`{status, message, errors}` in the form's language, for fetch-based embeds (CORS "
        "for the form's `allowed_origins` only). Limited per client address "
        "(`SIGNUP_LIMIT_PER_IP`) and per number (`SIGNUP_LIMIT_PER_NUMBER`); a number gets "
        "one confirmation text per 24 hours; the form's hourly cap and the daily quota "
        "answer 429 with `Retry-After`. Bodies are capped at `FORM_MAX_BODY_BYTES`."
    ),
    openapi_extra=join_http.SUBMIT_DOCS,
    response_class=Response,
    responses={
        200: _answers("JSON answers only: the sign-up was received."),
        400: _answers("The body could not be read (malformed JSON, multipart or fields)."),
        303: {"description": "The sign-up was received: on to the thank-you page."},
        403: _answers("Sent from a website the form does not name in `allowed_origins`."),
        404: _answers("No such form, or it is archived."),
        413: _answers("The body is over `FORM_MAX_BODY_BYTES`."),
        422: _answers("A field is missing or wrong; each is named with what is wrong."),
        429: _answers("A limit is reached: try again after `Retry-After` seconds."),
        503: _answers("The form's texts cannot be sent now (its confirmation text is not valid)."),
    },
)
async def submit_form(slug: str, request: Request) -> Response:
    settings = get_runtime(request).settings
    wants_json = join_http.wants_json(request)
    language = language_of(request.query_params.get("lang"), join_http.accepted_language(request))
    body = await join_http.capped_body(request, settings.form_max_body_bytes)
    if body is None:
        return _refusal(request, 413, "too_large", language, wants_json)
    try:
        values = await join_http.values(request, body)
    except ValueError:
        return _refusal(request, 400, "unreadable", language, wants_json)
    return await _take(request, slug, values, wants_json)


async def _take(request: Request, slug: str, values: dict[str, str], wants_json: bool) -> Response:
    """On the event loop, as the group commit it ends in (see `SubmissionGroups`): its reads
    take a fraction of a millisecond, and no thread waits for the GIL."""
    runtime = get_runtime(request)
    limits = rate_limits(request)
    address = client_ip(request)
    counters = activity(request)
    hinted = language_of(request.query_params.get("lang"), join_http.accepted_language(request))
    try:  # before the database: a flood from one address writes one audit entry an hour
        limits.hit_signup_address(address)
    except TooManyRequests as exc:
        counters.blocked(slug)
        if limits.first_signup_refusal(address):
            signups.record_throttled(runtime.database, address, slug)
        return _refusal(request, 429, "too_many", hinted, wants_json, retry=exc.retry_after)
    form = form_cache(request).get(slug)
    if form is None:
        return _not_found(request, request.query_params.get("lang"), wants_json)
    language = language_of(request.query_params.get("lang"), form.language)
    origin = request.headers.get("origin")
    if not join_http.may_post_from(request, form, origin):
        counters.blocked(slug)
        return _refusal(request, 403, "wrong_site", language, wants_json, form=form)
    if values.get(HONEYPOT, "").strip():
        counters.blocked(slug)
        return _received(request, form, language, wants_json)
    evidence = submissions.Evidence(
        page_url=f"{runtime.settings.public_url}/join/{slug}",
        referer=request.headers.get("referer") or values.get(EMBEDDED_IN) or None,
        origin=origin,
        ip=address,
        user_agent=request.headers.get("user-agent"),
        language=language,
    )
    try:
        read = submissions.read_submission(form, values, evidence, runtime.settings.default_region)
    except InvalidSubmission as exc:
        if exc.blocked:
            counters.blocked(slug)
        return _invalid(request, form, language, values, exc, wants_json)
    try:
        limits.hit_signup_number(read.phone)
    except TooManyRequests as exc:
        counters.blocked(slug)
        return _refusal(
            request, 429, "too_many", language, wants_json, retry=exc.retry_after, form=form
        )
    try:
        await submission_groups(request).submit(read.request)
    except TooManyRequests as exc:  # the form's hourly cap, or the daily quota
        counters.blocked(slug)
        log.info("sign-up refused on form %s for %s: %s", slug, mask_phone(read.phone), exc)
        return _refusal(
            request, 429, "try_later", language, wants_json, retry=exc.retry_after, form=form
        )
    except InvalidInput as exc:  # the operator's confirmation or welcome text cannot be sent
        log.error("form %s cannot send its texts: %s", slug, exc)
        return _refusal(request, 503, "try_later", language, wants_json, form=form)
    runtime.wake_dispatcher()
    return _received(request, form, language, wants_json)


# -- the dashboard editor's live preview -------------------------------------------------------


class PreviewField(Input):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str | None = Field(default=None, max_length=200)
    required: bool = Field(default=False, strict=True)


class FormPreviewIn(Input):
    """The form as the editor has it now: what the hosted page shows."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    fields: list[PreviewField] = Field(default_factory=list, max_length=join_http.MAX_FIELDS)
    disclosure: str = Field(default="", max_length=5000)
    language: Literal["en", "fr"] = "en"
    # Strict, as booleans in bodies are: `0` or `"yes"` is a 400, not a guess.
    double_opt_in: bool = Field(default=True, strict=True)


@preview_router.post(
    "/preview",
    response_class=HTMLResponse,
    summary="The hosted page of a form being edited, as people will see it",
    description="Writes nothing: for the editor's live preview (an iframe's `srcdoc`).",
    responses={200: {"content": {"text/html": {}}}},
)
def preview_form(body: FormPreviewIn, request: Request) -> Response:
    form = SignupForm(
        slug="preview",
        title=body.title,
        description=body.description,
        fields=[field.model_dump() for field in body.fields],
        disclosure=body.disclosure,
        double_opt_in=body.double_opt_in,
        language=body.language,
        allowed_origins=[],
    )
    return _page(request, form, body.language, {}, {}, 200, preview=True)


# -- answers ------------------------------------------------------------------------------------


def _page(
    request: Request,
    form: SignupForm,
    language: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int,
    *,
    preview: bool = False,
    notice: str | None = None,
    retry: int | None = None,
) -> Response:
    words = words_in(language)
    fields = [
        {
            "name": PHONE,
            "label": words["phone"],
            "type": "tel",
            "autocomplete": "tel",
            "required": True,
        }
    ]
    for wanted in submissions.form_fields(form):
        fields.append(
            {
                "name": wanted.name,
                "label": wanted.label
                or words.get(wanted.name, wanted.name.replace("_", " ").capitalize()),
                "type": _INPUT_TYPES.get(wanted.name, "text"),
                "autocomplete": _AUTOCOMPLETE.get(wanted.name, "off"),
                "required": wanted.required,
            }
        )
    context = {
        "form": form,
        "lang": language,
        "words": words,
        "fields": fields,
        "values": values,
        "errors": errors,
        "preview": preview,
        "notice": notice,
        "action": f"/join/{form.slug}" + (f"?lang={language}" if language != form.language else ""),
        "honeypot": HONEYPOT,
        "embedded_in": EMBEDDED_IN,
    }
    headers = {} if preview else join_http.page_headers(form)
    if retry is not None:
        headers["retry-after"] = str(retry)
    return templates.TemplateResponse(
        request, "join.html", context, status_code=status, headers=headers
    )


def _received(request: Request, form: SignupForm, language: str, wants_json: bool) -> Response:
    target = join_http.redirect_url(form) or f"/join/{form.slug}/thanks" + (
        f"?lang={language}" if language != form.language else ""
    )
    cors = join_http.cors(form, request.headers.get("origin"))
    if wants_json:
        answer = {"status": "ok", "message": _thanks(form, language), "errors": {}}
        return JSONResponse({**answer, "redirect": target}, headers=cors)
    return RedirectResponse(target, status_code=303, headers=cors)


def _invalid(
    request: Request,
    form: SignupForm,
    language: str,
    values: Mapping[str, str],
    exc: InvalidSubmission,
    wants_json: bool,
) -> Response:
    words = words_in(language)
    errors: dict[str, str] = {}
    for problem in exc.codes:
        errors.setdefault(problem.field, words[problem.code].format(limit=problem.limit))
    if wants_json:
        answer = {"status": "invalid", "message": words["check_fields"], "errors": errors}
        cors = join_http.cors(form, request.headers.get("origin"))
        return JSONResponse(answer, status_code=422, headers=cors)
    kept = {name: value[:2000] for name, value in values.items() if name != HONEYPOT}
    return _page(request, form, language, kept, errors, 422, notice=words["check_fields"])


_STATUSES = {
    400: "invalid",
    403: "forbidden",
    404: "not_found",
    413: "invalid",
    429: "too_many_requests",
    503: "error",
}


def _refusal(
    request: Request,
    status: int,
    reason: str,
    language: str,
    wants_json: bool,
    *,
    retry: int | None = None,
    form: SignupForm | None = None,
) -> Response:
    """The page (or JSON) saying why nothing was taken, in the page's language."""
    message = words_in(language)[reason]
    headers = {"retry-after": str(retry)} if retry is not None else {}
    if form is not None:
        headers.update(join_http.cors(form, request.headers.get("origin")))
    if wants_json:
        answer = {"status": _STATUSES[status], "message": message, "errors": {}}
        return JSONResponse(answer, status_code=status, headers=headers)
    if form is not None and status == 429:
        return _page(request, form, language, {}, {}, status, notice=message, retry=retry)
    context = {"lang": language, "words": words_in(language), "title": message, "message": ""}
    return templates.TemplateResponse(
        request, "join_thanks.html", context, status_code=status, headers=headers
    )


def _not_found(request: Request, lang: str | None, wants_json: bool = False) -> Response:
    language = language_of(lang, join_http.accepted_language(request))
    words = words_in(language)
    if wants_json:
        answer = {"status": "not_found", "message": words["not_found"], "errors": {}}
        return JSONResponse(answer, status_code=404)
    context = {
        "lang": language,
        "words": words,
        "title": words["not_found_title"],
        "message": words["not_found"],
    }
    return templates.TemplateResponse(request, "join_thanks.html", context, status_code=404)


def _thanks(form: SignupForm, language: str) -> str:
    if form.thank_you_text:
        return form.thank_you_text
    words = words_in(language)
    return words["thanks_double"] if form.double_opt_in else words["thanks_single"]
