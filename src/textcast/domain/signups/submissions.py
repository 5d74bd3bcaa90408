"""A form's submission, as typed by a stranger: read into a `SignupRequest`, or refused field
by field with language-neutral codes (the page words them in its own language).

The phone is read with the form's first allowed country as the default region, and its
country is checked against the form's `allowed_countries` here, before anything is stored or
sent: a number from elsewhere never costs a text. Every value is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session

from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.phones.numbers import InvalidPhone, read_phone
from textcast.domain.signups.signups import SignupRequest
from textcast.models import SignupChannel, SignupForm

PHONE = "phone"
HONEYPOT = "company_website"
DISCLOSURE_VERSION = "disclosure_version"
"""The embed code's hidden field: the version of the disclosure copied into the operator's
page with it."""
"""Hidden from people, filled by bots: a submission with it is dropped without a word."""
KNOWN_FIELDS = ("first_name", "last_name", "email", "birthday")
MAX_PHONE_CHARS = 40
MAX_TEXT_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_USER_AGENT_CHARS = 500
MAX_URL_CHARS = 2000
EARLIEST_BIRTHDAY = date(1900, 1, 1)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

# The codes a problem can have; `web/join.py` words each in the page's language.
REQUIRED = "required"
INVALID_PHONE = "invalid_phone"
COUNTRY_NOT_ALLOWED = "country_not_allowed"
INVALID_EMAIL = "invalid_email"
INVALID_DATE = "invalid_date"
TOO_LONG = "too_long"
_ENGLISH = {
    REQUIRED: "is required",
    INVALID_PHONE: "is not a mobile phone number we can text",
    COUNTRY_NOT_ALLOWED: "is from a country this form does not accept",
    INVALID_EMAIL: "is not an email address",
    INVALID_DATE: "is not a date (YYYY-MM-DD)",
    TOO_LONG: "is too long",
}


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str
    limit: int | None = None
    """For `too_long`: the most characters allowed."""


class InvalidSubmission(InvalidInput):
    """Every field at fault, with its code; in English too, for logs and the API's 400."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__([FieldProblem(p.field, _ENGLISH[p.code]) for p in problems])
        self.codes = problems

    @property
    def blocked(self) -> bool:
        """A refusal that counts as abuse (a number from a country the form does not take)."""
        return any(p.code == COUNTRY_NOT_ALLOWED for p in self.codes)


@dataclass(frozen=True, slots=True)
class Evidence:
    """How the submission came: kept verbatim in the sign-up."""

    page_url: str
    referer: str | None = None
    origin: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str | None
    required: bool


@dataclass(frozen=True, slots=True)
class ReadSubmission:
    request: SignupRequest
    phone: str
    """E.164."""
    values: dict[str, str] = field(default_factory=dict)


def form_fields(form: SignupForm) -> list[FormField]:
    """The fields the form asks for besides the phone, in order, each once."""
    seen: set[str] = {PHONE, HONEYPOT}
    found = []
    for entry in form.fields or []:
        name = str(entry.get("name", "")) if isinstance(entry, Mapping) else ""
        if not name or name in seen:
            continue
        seen.add(name)
        label = entry.get("label")
        found.append(FormField(name, str(label) if label else None, bool(entry.get("required"))))
    return found


def default_region(form: SignupForm, fallback: str) -> str:
    """The country a number written without its country code is read in."""
    allowed = form.allowed_countries or []
    return str(allowed[0]).upper() if allowed else fallback


def read_submission(
    form: SignupForm, values: Mapping[str, str], evidence: Evidence, fallback_region: str
) -> ReadSubmission:
    """The sign-up this submission asks for; `InvalidSubmission` names every field at fault.

    A form with no `allowed_countries` takes the installation's DEFAULT_REGION only."""
    problems: list[Problem] = []
    raw_phone = values.get(PHONE, "").strip()
    phone = _read_phone(form, raw_phone, fallback_region, problems)
    submitted: dict[str, str] = {PHONE: raw_phone[:MAX_PHONE_CHARS]}
    for wanted in form_fields(form):
        value = values.get(wanted.name, "").strip()
        if not value:
            if wanted.required:
                problems.append(Problem(wanted.name, REQUIRED))
            continue
        problem = _check_value(wanted.name, value)
        if problem is not None:
            problems.append(problem)
            continue
        submitted[wanted.name] = value
    if problems or phone is None:
        raise InvalidSubmission(problems)
    disclosure, version = shown_disclosure(form, values)
    request = SignupRequest(
        channel=SignupChannel.FORM,
        phone=phone,
        list_id=form.list_id,
        double_opt_in=form.double_opt_in,
        confirmation_text=form.confirmation_text,
        welcome_text=form.welcome_text,
        fields=submitted,
        form_id=form.id,
        confirmations_per_hour=form.confirmations_per_hour,
        disclosure=disclosure,
        disclosure_version=version,
        page_url=evidence.page_url[:MAX_URL_CHARS],
        referer=_bounded(evidence.referer, MAX_URL_CHARS),
        origin=_bounded(evidence.origin, 300),
        ip=_bounded(evidence.ip, 64),
        user_agent=_bounded(evidence.user_agent, MAX_USER_AGENT_CHARS),
        language=_bounded(evidence.language, 8),
    )
    return ReadSubmission(request, phone, submitted)


def shown_disclosure(form: SignupForm, values: Mapping[str, str]) -> tuple[str | None, int]:
    """The disclosure the person was shown, and its version: the form's own, unless the
    submission comes from an embed copied before the disclosure last changed, which says so
    with its older version. Only the current text is kept, so the older one is not known
    (None): the evidence must not claim a text the person never saw."""
    given = values.get(DISCLOSURE_VERSION, "").strip()
    if given.isdigit() and 0 < int(given) < form.disclosure_version:
        return None, int(given)
    return form.disclosure, form.disclosure_version


def count_activity(session: Session, views: Mapping[str, int], blocked: Mapping[str, int]) -> None:
    """Add views and blocked submissions to the forms' counters: one UPDATE per form."""
    for slug in set(views) | set(blocked):
        seen, refused = views.get(slug, 0), blocked.get(slug, 0)
        if not seen and not refused:
            continue
        session.execute(
            update(SignupForm)
            .where(SignupForm.slug == slug)
            .values(views=SignupForm.views + seen, blocked=SignupForm.blocked + refused)
            .execution_options(synchronize_session=False)
        )


def _read_phone(
    form: SignupForm, raw: str, fallback_region: str, problems: list[Problem]
) -> str | None:
    if not raw:
        problems.append(Problem(PHONE, REQUIRED))
        return None
    if len(raw) > MAX_PHONE_CHARS:
        problems.append(Problem(PHONE, TOO_LONG, MAX_PHONE_CHARS))
        return None
    try:
        info = read_phone(raw, default_region(form, fallback_region), with_time_zone=False)
    except InvalidPhone:
        problems.append(Problem(PHONE, INVALID_PHONE))
        return None
    allowed = {str(code).upper() for code in form.allowed_countries or []} or {
        fallback_region.upper()
    }
    if info.country not in allowed:
        problems.append(Problem(PHONE, COUNTRY_NOT_ALLOWED))
        return None
    return info.e164


def _check_value(name: str, value: str) -> Problem | None:
    if name == "email":
        if len(value) > MAX_EMAIL_CHARS:
            return Problem(name, TOO_LONG, MAX_EMAIL_CHARS)
        return None if _EMAIL.fullmatch(value) else Problem(name, INVALID_EMAIL)
    if name == "birthday":
        try:
            born = date.fromisoformat(value)
        except ValueError:
            return Problem(name, INVALID_DATE)
        return None if EARLIEST_BIRTHDAY <= born <= date.today() else Problem(name, INVALID_DATE)
    if len(value) > MAX_TEXT_CHARS:
        return Problem(name, TOO_LONG, MAX_TEXT_CHARS)
    return None


def _bounded(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
