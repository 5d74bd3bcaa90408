"""`/api/v1/forms`: sign-up forms, their figures and their embed code (the public page and
its submissions are `/join/{slug}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.signups import embeds, forms
from textcast.domain.signups.forms import FormDraft, FormStats
from textcast.models import SignupForm
from textcast.services import forms as form_services
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input
from textcast.web.auth import Writer, guard
from textcast.web.deps import ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(tags=["sign-up forms"], dependencies=[guard(Permission.READ)])

TEXT_BOUND = 10_000
"""Bodies are bounded here; the domain says what the real limit of each text is."""

_EXAMPLE_FIELDS = [
    {"name": "first_name", "required": True},
    {"name": "email", "required": False},
    {"name": "store", "label": "Favourite store", "required": False},
]
_EXAMPLE: Any = {
    "list_id": 1,
    "slug": "vip-club",
    "title": "Join our VIP texts",
    "description": "Early access to sales, once or twice a month.",
    "fields": _EXAMPLE_FIELDS,
    "double_opt_in": True,
    "allowed_countries": ["US", "CA"],
    "allowed_origins": ["https://shop.example"],
    "redirect_url": "https://shop.example/thanks",
    "language": "en",
}


class FieldIn(Input):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] = Field(
        description="`first_name`, `last_name`, `email`, `birthday`, or a contact attribute "
        "(letters, digits and `_`, up to 64). The phone is always asked: leave it out."
    )
    label: Annotated[str | None, Field(max_length=200)] = Field(
        default=None, description="Shown above the input; the page's own words when null."
    )
    required: bool = False


FIELDS = "The fields asked besides the phone (always asked, always required), in order."
DISCLOSURE = (
    "The consent text shown next to the button, kept verbatim in every sign-up's evidence "
    "(at most 2,000 characters). Its version goes up by one when its text changes."
)
COUNTRIES = "Two-letter codes whose numbers may sign up (checked before any text is sent)."
ORIGINS = (
    "Sites that may embed the form and be redirected to, as `https://host[:port]` (a path "
    "given is dropped)."
)
TEXTS = "Plain text (no merge fields), at most 918 characters (6 parts)."


class FormIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    list_id: IdIn = Field(description="The list that sign-ups join.")
    slug: Annotated[str, Field(max_length=200)] = Field(
        description="The hosted page's address, `/join/{slug}`: 3 to 64 lowercase letters, "
        "digits or hyphens, unique."
    )
    title: Annotated[str, Field(max_length=TEXT_BOUND)] = Field(
        description="The heading of the page."
    )
    name: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None, description="For your lists of forms; the title when left out."
    )
    description: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    fields: Annotated[list[FieldIn], Field(max_length=100)] = Field(default=[], description=FIELDS)
    disclosure: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None,
        description=DISCLOSURE
        + " Left out: a default one built from BRAND_NAME and HELP_CONTACT, in the form's "
        "language.",
    )
    terms_url: Annotated[str | None, Field(max_length=2000)] = Field(
        default=None, description="Linked from the default disclosure (not stored)."
    )
    privacy_url: Annotated[str | None, Field(max_length=2000)] = Field(
        default=None, description="Linked from the default disclosure (not stored)."
    )
    double_opt_in: bool = Field(
        default=True, description='False: subscribed at once, without "Reply Y to confirm".'
    )
    allowed_countries: Annotated[list[str] | None, Field(max_length=300)] = Field(
        default=None, description=COUNTRIES + " Left out: DEFAULT_REGION."
    )
    confirmation_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None, description="The confirmation request; a default one when left out. " + TEXTS
    )
    welcome_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None,
        description="Sent once subscribed; a default one when left out, none when empty. " + TEXTS,
    )
    thank_you_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None, description="The thank-you page's text; the page's own words when null."
    )
    redirect_url: Annotated[str | None, Field(max_length=2000)] = Field(
        default=None,
        description="Where the browser goes after signing up instead of the thank-you page; "
        "its site must be one of `allowed_origins`.",
    )
    allowed_origins: Annotated[list[str], Field(max_length=100)] = Field(
        default=[], description=ORIGINS
    )
    language: Annotated[str, Field(max_length=20)] = Field(
        default="en", description="`en` or `fr`: the page's own words and the default texts."
    )
    confirmations_per_hour: int = Field(
        default=100,
        description="Confirmation texts this form may cause per rolling hour (an audit alert "
        "when reached); 0: no cap.",
    )

    def draft(self) -> FormDraft:
        values = self.model_dump()
        values["fields"] = [f.model_dump(exclude_none=True) for f in self.fields]
        return FormDraft(**values)


class FormChange(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "Join our VIP club", "allowed_countries": ["US", "CA", "MX"]}]
        },
    )

    list_id: IdIn | None = None
    slug: Annotated[str | None, Field(max_length=200)] = None
    title: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    name: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    description: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    fields: Annotated[list[FieldIn] | None, Field(max_length=100)] = Field(
        default=None, description="The whole list, replacing the one before."
    )
    disclosure: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None, description=DISCLOSURE
    )
    double_opt_in: bool | None = None
    allowed_countries: Annotated[list[str] | None, Field(max_length=300)] = Field(
        default=None, description=COUNTRIES
    )
    confirmation_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    welcome_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = Field(
        default=None, description="null or empty: no welcome text."
    )
    thank_you_text: Annotated[str | None, Field(max_length=TEXT_BOUND)] = None
    redirect_url: Annotated[str | None, Field(max_length=2000)] = None
    allowed_origins: Annotated[list[str] | None, Field(max_length=100)] = Field(
        default=None, description=ORIGINS
    )
    language: Annotated[str | None, Field(max_length=20)] = None
    confirmations_per_hour: int | None = None

    def changes(self) -> dict[str, Any]:
        """The settings the body names, as given (null included where it means something)."""
        given = self.model_dump(exclude_unset=True)
        if self.fields is not None:
            given["fields"] = [f.model_dump(exclude_none=True) for f in self.fields]
        return given


class FieldOut(BaseModel):
    name: str
    label: str | None = None
    required: bool = False


class StatsOut(BaseModel):
    views: int = Field(description="Views of the hosted page (previews not counted).")
    submissions: int = Field(description="Sign-ups through the form, whatever became of them.")
    confirmed: int
    pending: int
    expired: int
    cancelled: int
    blocked: int = Field(
        description="Submissions refused as abuse: honeypot, rate limits, caps, countries."
    )
    conversion_rate: float | None = Field(
        description="Confirmed sign-ups per view (0.25: one in four); null before any view."
    )

    @classmethod
    def of(cls, stats: FormStats) -> StatsOut:
        return cls(
            views=stats.views,
            submissions=stats.submissions,
            confirmed=stats.confirmed,
            pending=stats.pending,
            expired=stats.expired,
            cancelled=stats.cancelled,
            blocked=stats.blocked,
            conversion_rate=stats.conversion_rate,
        )


class FormOut(BaseModel):
    id: int
    slug: str
    name: str
    list_id: int
    title: str
    description: str | None
    fields: list[FieldOut]
    disclosure: str
    disclosure_version: int
    double_opt_in: bool
    allowed_countries: list[str]
    confirmation_text: str
    welcome_text: str | None
    thank_you_text: str | None
    redirect_url: str | None
    allowed_origins: list[str]
    language: str
    confirmations_per_hour: int
    url: str = Field(description="The hosted page.")
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    stats: StatsOut

    @classmethod
    def of(cls, form: SignupForm, stats: FormStats, public_url: str) -> FormOut:
        return cls(
            id=form.id,
            slug=form.slug,
            name=form.name,
            list_id=form.list_id,
            title=form.title,
            description=form.description,
            fields=[FieldOut.model_validate(f) for f in form.fields or []],
            disclosure=form.disclosure,
            disclosure_version=form.disclosure_version,
            double_opt_in=form.double_opt_in,
            allowed_countries=list(form.allowed_countries or []),
            confirmation_text=form.confirmation_text,
            welcome_text=form.welcome_text,
            thank_you_text=form.thank_you_text,
            redirect_url=form.redirect_url,
            allowed_origins=list(form.allowed_origins or []),
            language=form.language,
            confirmations_per_hour=form.confirmations_per_hour,
            url=embeds.hosted_url(form, public_url),
            archived=form.archived_at is not None,
            archived_at=form.archived_at,
            created_at=form.created_at,
            updated_at=form.updated_at,
            stats=StatsOut.of(stats),
        )


class EmbedOut(BaseModel):
    url: str = Field(description="The hosted page, to link to.")
    html: str = Field(
        description="A plain HTML form posting to the hosted page: no script, nothing loaded "
        "from elsewhere. Add the site to `allowed_origins` to be redirected back to it."
    )
    iframe: str = Field(description="The hosted page in a frame.")


def _out(runtime: RuntimeDep, session: Session, form: SignupForm) -> FormOut:
    return FormOut.of(form, forms.form_stats(session, form), runtime.settings.public_url)


def _written(runtime: RuntimeDep, form: SignupForm) -> FormOut:
    with runtime.database.read() as session:
        return _out(runtime, session, forms.get_form(session, form.id))


@router.get("/api/v1/forms", summary="List sign-up forms")
def list_forms(
    runtime: RuntimeDep,
    session: ReadSession,
    include_archived: Annotated[bool, Query(description="Archived forms too (last).")] = False,
) -> list[FormOut]:
    """Every form by name, with its figures."""
    found = forms.list_forms(session, include_archived=include_archived)
    stats = forms.stats_of_forms(session, found)
    public_url = runtime.settings.public_url
    return [FormOut.of(form, stats[form.id], public_url) for form in found]


@router.post(
    "/api/v1/forms",
    status_code=status.HTTP_201_CREATED,
    summary="Create a sign-up form",
)
def create_form(payload: FormIn, runtime: RuntimeDep, principal: Writer) -> FormOut:
    """Every setting is checked at once: a 400 names each field at fault. Audited as
    `form.create`."""
    created = form_services.create_form(
        runtime.database,
        Actor.of(principal),
        payload.draft(),
        form_services.form_defaults(runtime.settings),
    )
    return _written(runtime, created)


@router.get("/api/v1/forms/{form_id}", summary="Get a sign-up form")
def get_form(form_id: Id, runtime: RuntimeDep, session: ReadSession) -> FormOut:
    return _out(runtime, session, forms.get_form(session, form_id))


@router.patch("/api/v1/forms/{form_id}", summary="Change a sign-up form", responses=problems(409))
def update_form(
    form_id: Id, payload: FormChange, runtime: RuntimeDep, principal: Writer
) -> FormOut:
    """Only the settings given change; the form is checked again as a whole. A new
    disclosure text gets the next version. 409 for an archived form. Audited as
    `form.update`."""
    updated = form_services.update_form(
        runtime.database,
        Actor.of(principal),
        form_id,
        payload.changes(),
        form_services.form_defaults(runtime.settings),
    )
    return _written(runtime, updated)


@router.delete(
    "/api/v1/forms/{form_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a sign-up form",
    responses=problems(409),
)
def archive_form(form_id: Id, runtime: RuntimeDep, principal: Writer) -> None:
    """The page answers 404 and accepts nothing more; its sign-ups stay as consent evidence.
    `POST /api/v1/forms/{id}/restore` brings it back. Audited as `form.archive`."""
    form_services.archive_form(runtime.database, Actor.of(principal), form_id)


@router.post(
    "/api/v1/forms/{form_id}/restore",
    summary="Restore an archived sign-up form",
    responses=problems(409),
)
def restore_form(form_id: Id, runtime: RuntimeDep, principal: Writer) -> FormOut:
    """Audited as `form.restore`."""
    restored = form_services.restore_form(runtime.database, Actor.of(principal), form_id)
    return _written(runtime, restored)


@router.get("/api/v1/forms/{form_id}/embed", summary="Get a sign-up form's embed code")
def embed_form(form_id: Id, runtime: RuntimeDep, session: ReadSession) -> EmbedOut:
    """The code to paste into another site: a plain HTML form, or the hosted page in a frame."""
    form = forms.get_form(session, form_id)
    return EmbedOut(**embeds.embed_snippets(form, runtime.settings.public_url))
