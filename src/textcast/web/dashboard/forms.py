"""/forms: the sign-up forms with their figures; /forms/new and /forms/{id}: the editor, with
a live preview of the hosted page at phone and desktop width and the embed code to copy.

The editor (static/forms.js) saves through `POST` / `PATCH /api/v1/forms`, archives and
restores through `DELETE /api/v1/forms/{id}` and `POST .../restore`, and previews through
`POST /api/v1/forms/preview` (the hosted page rendered with the values being edited, put in
an `<iframe srcdoc>`). Viewers see the same page without the means to change it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain.audience import lists
from textcast.domain.signups import embeds, form_checks, form_texts, forms
from textcast.models import SignupForm
from textcast.services.forms import form_defaults
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)

KNOWN_FIELDS = [
    {"name": name, "label": form_texts.LABELS["en"][name]} for name in form_checks.KNOWN_FIELDS
]


@router.get("/forms", response_class=HTMLResponse)
def forms_page(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    with runtime.database.read() as session:
        found = forms.list_forms(session)
        stats = forms.stats_of_forms(session, found)
        list_names = {found.id: found.name for found, _ in lists.list_lists(session)}
    public_url = runtime.settings.public_url
    rows = [
        {
            "form": form,
            "stats": stats[form.id],
            "list": list_names.get(form.list_id, ""),
            "url": embeds.hosted_url(form, public_url),
        }
        for form in found
    ]
    return render(request, "forms.html", principal, rows=rows)


@router.get("/forms/new", response_class=HTMLResponse)
def new_form(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    return _editor(request, principal, runtime, None)


@router.get("/forms/{form_id:int}", response_class=HTMLResponse)
def edit_form(request: Request, principal: PageUser, runtime: RuntimeDep, form_id: int) -> Response:
    return _editor(request, principal, runtime, page_id(form_id, "form"))


def _editor(
    request: Request, principal: PageUser, runtime: RuntimeDep, form_id: int | None
) -> Response:
    defaults = form_defaults(runtime.settings)
    with runtime.database.read() as session:
        form = forms.get_form(session, form_id) if form_id is not None else None
        stats = forms.form_stats(session, form) if form is not None else None
        choices = [{"id": found.id, "name": found.name} for found, _ in lists.list_lists(session)]
    public_url = runtime.settings.public_url
    texts = {
        language: {
            "disclosure": form_texts.default_disclosure(defaults, language),
            "confirmation_text": form_texts.default_confirmation(defaults, language),
            "welcome_text": form_texts.default_welcome(defaults, language),
        }
        for language in form_texts.LANGUAGES
    }
    return render(
        request,
        "form_editor.html",
        principal,
        form=form,
        values=_values(form, texts["en"], defaults.country),
        stats=stats,
        lists=choices,
        known_fields=KNOWN_FIELDS,
        default_texts=texts,
        embed=embeds.embed_snippets(form, public_url) if form is not None else None,
        public_url=public_url,
    )


def _values(form: SignupForm | None, texts: dict[str, str], country: str) -> dict[str, Any]:
    """What the editor's inputs start with: the form's settings, or a new form's defaults."""
    if form is None:
        return {
            "name": "",
            "title": "",
            "slug": "",
            "description": "",
            "list_id": None,
            "language": "en",
            "double_opt_in": True,
            "fields": [{"name": "first_name", "required": False}],
            "disclosure": texts["disclosure"],
            "allowed_countries": country,
            "allowed_origins": "",
            "redirect_url": "",
            "thank_you_text": "",
            "confirmation_text": texts["confirmation_text"],
            "welcome_text": texts["welcome_text"],
            "confirmations_per_hour": 100,
        }
    return {
        "name": form.name,
        "title": form.title,
        "slug": form.slug,
        "description": form.description or "",
        "list_id": form.list_id,
        "language": form.language,
        "double_opt_in": form.double_opt_in,
        "fields": list(form.fields or []),
        "disclosure": form.disclosure,
        "allowed_countries": ", ".join(form.allowed_countries or []),
        "allowed_origins": "\n".join(form.allowed_origins or []),
        "redirect_url": form.redirect_url or "",
        "thank_you_text": form.thank_you_text or "",
        "confirmation_text": form.confirmation_text,
        "welcome_text": form.welcome_text or "",
        "confirmations_per_hour": form.confirmations_per_hour,
    }
