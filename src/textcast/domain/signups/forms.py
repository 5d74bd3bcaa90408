"""Sign-up forms as an operator manages them: created, changed, archived and restored, found
by slug, and counted (views, sign-ups, confirmations, conversion). Their settings are checked
in `form_checks`, their default texts are in `form_texts` and their embed code in `embeds`.

A form belongs to a list and is hosted at `/join/{slug}` (served by `web/join.py`). The
disclosure is the consent text shown next to the button and kept verbatim in every sign-up's
evidence, so its `disclosure_version` goes up by one whenever its text changes, and only then:
a carrier's audit can tell which words each person agreed to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, FieldProblem, NotFound
from textcast.domain.signups.form_checks import check_form, url_problems
from textcast.domain.signups.form_texts import (
    LANGUAGES,
    FormDefaults,
    default_confirmation,
    default_disclosure,
    default_welcome,
)
from textcast.models import Signup, SignupForm, SignupStatus, utcnow


@dataclass(frozen=True, slots=True)
class FormDraft:
    """A new form. None takes the default: a disclosure, confirmation and welcome text built
    from the brand (an empty welcome text: none sent), the default country."""

    list_id: int
    slug: str
    title: str
    name: str | None = None
    """For the operator's lists; the title when not given."""
    description: str | None = None
    fields: Sequence[Mapping[str, Any]] = ()
    disclosure: str | None = None
    terms_url: str | None = None
    """Linked from the default disclosure (not stored: edit the disclosure to change it)."""
    privacy_url: str | None = None
    double_opt_in: bool = True
    allowed_countries: Sequence[str] | None = None
    confirmation_text: str | None = None
    welcome_text: str | None = None
    thank_you_text: str | None = None
    redirect_url: str | None = None
    allowed_origins: Sequence[str] = ()
    language: str = "en"
    confirmations_per_hour: int = 100


EDITABLE = (
    "list_id",
    "slug",
    "name",
    "title",
    "description",
    "fields",
    "disclosure",
    "double_opt_in",
    "allowed_countries",
    "confirmation_text",
    "welcome_text",
    "thank_you_text",
    "redirect_url",
    "allowed_origins",
    "language",
    "confirmations_per_hour",
)
"""What `update_form` may change."""


@dataclass(frozen=True, slots=True)
class Updated:
    form: SignupForm
    changed: list[str]
    """The settings whose value changed, in `EDITABLE`'s order."""


@dataclass(frozen=True, slots=True)
class FormStats:
    views: int = 0
    submissions: int = 0
    """Sign-ups of the form, whatever became of them."""
    confirmed: int = 0
    pending: int = 0
    expired: int = 0
    cancelled: int = 0
    blocked: int = 0
    """Submissions refused as abuse (honeypot, limits, caps, countries not allowed)."""

    @property
    def conversion_rate(self) -> float | None:
        """Confirmed sign-ups per view; None before the first view."""
        return round(self.confirmed / self.views, 4) if self.views else None


def create_form(session: Session, draft: FormDraft, defaults: FormDefaults) -> SignupForm:
    language = draft.language if draft.language in LANGUAGES else "en"
    values: dict[str, Any] = {
        "list_id": draft.list_id,
        "slug": draft.slug,
        "name": draft.name,
        "title": draft.title,
        "description": draft.description,
        "fields": list(draft.fields),
        "disclosure": (
            default_disclosure(defaults, language, draft.terms_url, draft.privacy_url)
            if draft.disclosure is None
            else draft.disclosure
        ),
        "double_opt_in": draft.double_opt_in,
        "allowed_countries": (
            [defaults.country] if draft.allowed_countries is None else list(draft.allowed_countries)
        ),
        "confirmation_text": draft.confirmation_text or default_confirmation(defaults, language),
        "welcome_text": (
            default_welcome(defaults, language)
            if draft.welcome_text is None
            else draft.welcome_text
        ),
        "thank_you_text": draft.thank_you_text,
        "redirect_url": draft.redirect_url,
        "allowed_origins": list(draft.allowed_origins),
        "language": draft.language,
        "confirmations_per_hour": draft.confirmations_per_hour,
    }
    problems = url_problems("terms_url", draft.terms_url) + url_problems(
        "privacy_url", draft.privacy_url
    )
    checked = check_form(session, values, None, problems, defaults)
    form = SignupForm(**checked, disclosure_version=1, views=0, blocked=0)
    session.add(form)
    session.flush()
    return form


def update_form(
    session: Session, form_id: int, changes: Mapping[str, Any], defaults: FormDefaults
) -> Updated:
    """Only the settings in `changes`; the whole form is checked again with them, so a
    redirect stays within the allowed sites. Refused (Conflict) for an archived form."""
    form = get_form(session, form_id)
    if form.archived_at is not None:
        raise Conflict(f"the form {form.name!r} is archived: restore it before changing it")
    problems = [
        FieldProblem(key, f"is not a setting of a form; settings are {', '.join(EDITABLE)}")
        for key in changes
        if key not in EDITABLE
    ]
    values = {key: getattr(form, key) for key in EDITABLE}
    values.update({k: v for k, v in changes.items() if k in EDITABLE})
    checked = check_form(session, values, form, problems, defaults)
    changed = [key for key in EDITABLE if checked[key] != getattr(form, key)]
    if "disclosure" in changed:
        form.disclosure_version += 1
    for key in changed:
        setattr(form, key, checked[key])
    if changed:
        form.updated_at = utcnow()
    session.flush()
    return Updated(form, changed)


def archive_form(session: Session, form_id: int) -> SignupForm:
    """The form accepts nothing more and its page answers 404; its sign-ups stay as evidence."""
    form = get_form(session, form_id)
    if form.archived_at is not None:
        raise Conflict(f"the form {form.name!r} is already archived")
    form.archived_at = utcnow()
    session.flush()
    return form


def restore_form(session: Session, form_id: int) -> SignupForm:
    form = get_form(session, form_id)
    if form.archived_at is None:
        raise Conflict(f"the form {form.name!r} is not archived")
    form.archived_at = None
    session.flush()
    return form


def get_form(session: Session, form_id: int) -> SignupForm:
    found = session.get(SignupForm, form_id)
    if found is None:
        raise NotFound("form", form_id)
    return found


def get_form_by_reference(session: Session, reference: str) -> SignupForm:
    """By slug, or by id when `reference` is a number (slugs of digits alone are read as ids
    only when no form has that slug)."""
    by_slug = session.scalars(select(SignupForm).where(SignupForm.slug == reference)).first()
    if by_slug is not None:
        return by_slug
    if reference.isdigit() and 0 < int(reference) < 2**63:
        return get_form(session, int(reference))
    raise NotFound("form", reference)


def find_active_form(session: Session, slug: str) -> SignupForm | None:
    """The form at `/join/{slug}`; None when unknown or archived."""
    return session.scalars(
        select(SignupForm).where(SignupForm.slug == slug, SignupForm.archived_at.is_(None))
    ).first()


def list_forms(session: Session, *, include_archived: bool = True) -> list[SignupForm]:
    """By name; archived forms after the others."""
    query = select(SignupForm).order_by(
        SignupForm.archived_at.is_not(None), SignupForm.name, SignupForm.id
    )
    if not include_archived:
        query = query.where(SignupForm.archived_at.is_(None))
    return list(session.scalars(query))


def form_stats(session: Session, form: SignupForm) -> FormStats:
    return stats_of_forms(session, [form])[form.id]


def stats_of_forms(session: Session, forms: Iterable[SignupForm]) -> dict[int, FormStats]:
    """Every form's figures, its sign-ups counted in one query."""
    by_id = {form.id: form for form in forms}
    if not by_id:
        return {}

    def count(status: SignupStatus) -> Any:
        return func.coalesce(func.sum(case((Signup.status == status, 1), else_=0)), 0)

    rows = session.execute(
        select(
            Signup.form_id,
            func.count(),
            count(SignupStatus.CONFIRMED),
            count(SignupStatus.PENDING),
            count(SignupStatus.EXPIRED),
            count(SignupStatus.CANCELLED),
        )
        .where(Signup.form_id.in_(list(by_id)))
        .group_by(Signup.form_id)
    ).all()
    counted = {int(row[0]): [int(n) for n in row[1:]] for row in rows}
    stats = {}
    for form_id, form in by_id.items():
        submissions, confirmed, pending, expired, cancelled = counted.get(form_id, [0] * 5)
        stats[form_id] = FormStats(
            views=form.views or 0,
            submissions=submissions,
            confirmed=confirmed,
            pending=pending,
            expired=expired,
            cancelled=cancelled,
            blocked=form.blocked or 0,
        )
    return stats
