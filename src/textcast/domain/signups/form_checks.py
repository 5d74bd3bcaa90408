"""A sign-up form's settings checked all at once: every problem found, each naming its field
in words a marketer understands, or the settings cleaned (trimmed, origins normalised)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.audience.attributes import MAX_KEY_CHARS, attribute_problems
from textcast.domain.audience.segments import ATTRIBUTE_KEY
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.signups.form_texts import LANGUAGES, FormDefaults, default_confirmation
from textcast.models import ContactList, SignupForm

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
MIN_SLUG, MAX_SLUG = 3, 64
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_DISCLOSURE = 2000
MAX_TEXT = 918
"""A confirmation or welcome text: 6 parts of GSM-7 at most."""
MAX_PAGE_TEXT = 2000
MAX_FIELDS = 20
MAX_LABEL = 100
MAX_ORIGINS = 20
MAX_URL = 2000
MAX_PER_HOUR = 1_000_000
KNOWN_FIELDS = ("first_name", "last_name", "email", "birthday")
RESERVED_FIELDS = ("phone", "company_website", "disclosure_version")
"""Names the page itself uses: the phone (always asked), the honeypot, the version shown."""
MERGE_FIELD = re.compile(r"\{\{|\}\}")


def check_form(
    session: Session,
    values: dict[str, Any],
    form: SignupForm | None,
    problems: list[FieldProblem],
    defaults: FormDefaults,
) -> dict[str, Any]:
    """`values` cleaned (trimmed, normalised), or InvalidInput with every problem found."""
    out = dict(values)
    out["slug"] = _check_slug(session, values.get("slug"), form, problems)
    out["title"] = _required_text("title", values.get("title"), MAX_NAME, problems)
    name = values.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        out["name"] = out["title"]  # the title names the form unless it has a name of its own
    else:
        out["name"] = _required_text("name", name, MAX_NAME, problems)
    out["description"] = _optional_text(
        "description", values.get("description"), MAX_DESCRIPTION, problems
    )
    out["list_id"] = _check_list(session, values.get("list_id"), problems)
    out["fields"] = _check_fields(values.get("fields"), problems)
    out["disclosure"] = _check_disclosure(values.get("disclosure"), problems)
    out["double_opt_in"] = _check_bool("double_opt_in", values.get("double_opt_in"), problems)
    out["allowed_countries"] = _check_countries(values.get("allowed_countries"), problems)
    out["language"] = _check_language(values.get("language"), problems)
    language = out["language"] or "en"
    confirmation = _optional_text(
        "confirmation_text", values.get("confirmation_text"), MAX_TEXT, problems, plain=True
    )
    if confirmation is None and out["double_opt_in"]:
        problems.append(
            FieldProblem(
                "confirmation_text",
                "is required with double opt-in: it asks the person to confirm by text",
            )
        )
    # Even a single opt-in form asks a number that once sent STOP to confirm: keep a text.
    out["confirmation_text"] = confirmation or default_confirmation(defaults, language)
    out["welcome_text"] = _optional_text(
        "welcome_text", values.get("welcome_text"), MAX_TEXT, problems, plain=True
    )
    out["thank_you_text"] = _optional_text(
        "thank_you_text", values.get("thank_you_text"), MAX_PAGE_TEXT, problems, plain=True
    )
    out["confirmations_per_hour"] = _check_per_hour(values.get("confirmations_per_hour"), problems)
    out["allowed_origins"] = _check_origins(values.get("allowed_origins"), problems)
    out["redirect_url"] = _check_redirect(
        values.get("redirect_url"), out["allowed_origins"], problems
    )
    if problems:
        raise InvalidInput(problems)
    return out


def _check_slug(
    session: Session, value: Any, form: SignupForm | None, problems: list[FieldProblem]
) -> str:
    slug = value.strip() if isinstance(value, str) else ""
    if not MIN_SLUG <= len(slug) <= MAX_SLUG or not SLUG.fullmatch(slug):
        problems.append(
            FieldProblem(
                "slug",
                f"must be {MIN_SLUG} to {MAX_SLUG} lowercase letters, digits or hyphens, "
                "starting and ending with a letter or digit (it is the form's web address, "
                "/join/<slug>)",
                slug[:MAX_SLUG] or None,
            )
        )
        return slug
    owner = session.scalars(select(SignupForm).where(SignupForm.slug == slug)).first()
    if owner is not None and (form is None or owner.id != form.id):
        problems.append(FieldProblem("slug", f"is already used by the form {owner.name!r}", slug))
    return slug


def _required_text(name: str, value: Any, limit: int, problems: list[FieldProblem]) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problems.append(FieldProblem(name, "is required"))
    elif len(text) > limit:
        problems.append(FieldProblem(name, _too_long(len(text), limit)))
    return text or None


def _optional_text(
    name: str, value: Any, limit: int, problems: list[FieldProblem], *, plain: bool = False
) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be text"))
        return None
    text = value.strip()
    if len(text) > limit:
        problems.append(FieldProblem(name, _too_long(len(text), limit)))
    if plain and MERGE_FIELD.search(text):
        problems.append(
            FieldProblem(
                name,
                "must be plain text: merge fields such as {{ first_name }} cannot be used in a "
                "sign-up's texts (the person is not a contact yet)",
            )
        )
    return text or None


def _too_long(chars: int, limit: int) -> str:
    return f"has {chars:,} characters where at most {limit:,} are allowed"


def _check_list(session: Session, value: Any, problems: list[FieldProblem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        problems.append(FieldProblem("list_id", "must be a list's id"))
        return None
    if session.get(ContactList, value) is None:
        problems.append(FieldProblem("list_id", f"no list has the id {value}"))
    return value


def _check_bool(name: str, value: Any, problems: list[FieldProblem]) -> bool:
    if not isinstance(value, bool):
        problems.append(FieldProblem(name, "must be true or false"))
        return True
    return value


def _check_fields(value: Any, problems: list[FieldProblem]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        problems.append(FieldProblem("fields", "must be a list of fields"))
        return []
    if len(value) > MAX_FIELDS:
        problems.append(
            FieldProblem("fields", f"has {len(value)} fields; a form can have at most {MAX_FIELDS}")
        )
        return []
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, spec in enumerate(value):
        one = _check_field(f"fields[{index}]", spec, seen, problems)
        if one is not None:
            checked.append(one)
    return checked


def _check_field(
    where: str, spec: Any, seen: set[str], problems: list[FieldProblem]
) -> dict[str, Any] | None:
    if not isinstance(spec, Mapping):
        problems.append(FieldProblem(where, "must be an object with `name`, `label`, `required`"))
        return None
    unknown = sorted(set(spec) - {"name", "label", "required"})
    if unknown:
        problems.append(
            FieldProblem(where, f"has an unknown setting {unknown[0]!r}; use name, label, required")
        )
    name = spec.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if name in RESERVED_FIELDS:
        reason = (
            "the phone is always asked and always required: leave it out of the fields"
            if name == "phone"
            else f"{name!r} is a name the form uses itself; choose another"
        )
        problems.append(FieldProblem(f"{where}.name", reason, name))
        return None
    if name not in KNOWN_FIELDS:
        key_problems = attribute_problems({name: None})
        if key_problems or not ATTRIBUTE_KEY.fullmatch(name):
            problems.append(
                FieldProblem(
                    f"{where}.name",
                    "is first_name, last_name, email, birthday, or the name of a contact "
                    f"attribute: 1 to {MAX_KEY_CHARS} letters, digits or underscores",
                    name[:MAX_KEY_CHARS] or None,
                )
            )
            return None
    if name in seen:
        problems.append(FieldProblem(f"{where}.name", f"{name!r} is already a field of the form"))
        return None
    seen.add(name)
    label = spec.get("label")
    if label is not None and not isinstance(label, str):
        problems.append(FieldProblem(f"{where}.label", "must be text"))
        label = None
    label = (label or "").strip()
    if len(label) > MAX_LABEL:
        problems.append(FieldProblem(f"{where}.label", _too_long(len(label), MAX_LABEL)))
    required = spec.get("required", False)
    if not isinstance(required, bool):
        problems.append(FieldProblem(f"{where}.required", "must be true or false"))
        required = False
    return {"name": name, **({"label": label} if label else {}), "required": required}


def _check_disclosure(value: Any, problems: list[FieldProblem]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problems.append(
            FieldProblem(
                "disclosure",
                "is required: the consent text shown next to the button (leave it out to get "
                "the default one)",
            )
        )
    elif len(text) > MAX_DISCLOSURE:
        problems.append(FieldProblem("disclosure", _too_long(len(text), MAX_DISCLOSURE)))
    return text


def _check_countries(value: Any, problems: list[FieldProblem]) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        problems.append(
            FieldProblem(
                "allowed_countries",
                "needs at least one country whose numbers may sign up, e.g. US",
            )
        )
        return []
    codes: list[str] = []
    for index, code in enumerate(value):
        upper = code.strip().upper() if isinstance(code, str) else ""
        if upper not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(
                FieldProblem(
                    f"allowed_countries[{index}]",
                    "is not a country code: use two letters, e.g. US, CA, FR",
                    str(code)[:20],
                )
            )
        elif upper not in codes:
            codes.append(upper)
    return codes


def _check_language(value: Any, problems: list[FieldProblem]) -> str | None:
    if value not in LANGUAGES:
        problems.append(
            FieldProblem(
                "language",
                "must be en (English) or fr (French): the language of the page's own words",
                str(value)[:20],
            )
        )
        return None
    return str(value)


def _check_per_hour(value: Any, problems: list[FieldProblem]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PER_HOUR:
        problems.append(
            FieldProblem(
                "confirmations_per_hour",
                f"must be a whole number from 0 (no cap) to {MAX_PER_HOUR:,}",
            )
        )
        return 0
    return value


def _check_origins(value: Any, problems: list[FieldProblem]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        problems.append(FieldProblem("allowed_origins", "must be a list of sites"))
        return []
    if len(value) > MAX_ORIGINS:
        problems.append(FieldProblem("allowed_origins", f"at most {MAX_ORIGINS} sites"))
        return []
    origins: list[str] = []
    for index, one in enumerate(value):
        origin = origin_of(one) if isinstance(one, str) else None
        if origin is None:
            problems.append(
                FieldProblem(
                    f"allowed_origins[{index}]",
                    "must be a site's address starting with https:// or http://, e.g. "
                    "https://shop.example",
                    str(one)[:MAX_URL],
                )
            )
        elif origin not in origins:
            origins.append(origin)
    return origins


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) address (a default port left out); None when it
    is not one."""
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or not parts.netloc:
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _check_redirect(value: Any, origins: list[str], problems: list[FieldProblem]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    url = value.strip() if isinstance(value, str) else ""
    origin = origin_of(url)
    if origin is None:
        problems.append(
            FieldProblem(
                "redirect_url",
                "must be a web address starting with https:// or http://",
                url[:MAX_URL] or None,
            )
        )
        return None
    if origin not in origins:
        problems.append(
            FieldProblem(
                "redirect_url",
                f"goes to a site the form does not allow: add {origin} to the allowed sites first",
                url,
            )
        )
    return url


def url_problems(name: str, value: str | None) -> list[FieldProblem]:
    if value is None or origin_of(value) is not None:
        return []
    return [FieldProblem(name, "must be a web address starting with https:// or http://", value)]
