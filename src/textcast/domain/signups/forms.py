"""Sign-up forms as an operator manages them: their settings checked all at once, their
figures, and the code that embeds them on another site.

A form belongs to a list and is hosted at `/join/{slug}` (served by `web/join.py`). The
disclosure is the consent text shown next to the button and kept verbatim in every sign-up's
evidence, so its `disclosure_version` goes up by one whenever its text changes, and only then:
a carrier's audit can tell which words each person agreed to.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from textcast.domain.audience.attributes import MAX_KEY_CHARS, attribute_problems
from textcast.domain.audience.segments import ATTRIBUTE_KEY
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import ContactList, Signup, SignupForm, SignupStatus, utcnow

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
LANGUAGES = ("en", "fr")
KNOWN_FIELDS = ("first_name", "last_name", "email", "birthday")
RESERVED_FIELDS = ("phone", "company_website", "disclosure_version")
"""Names the page itself uses: the phone (always asked), the honeypot, the version shown."""
HONEYPOT = "company_website"
MERGE_FIELD = re.compile(r"\{\{|\}\}")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "phone": "Mobile number",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "birthday": "Birthday",
        "submit": "Sign up",
        HONEYPOT: "Leave this field empty",
    },
    "fr": {
        "phone": "Numéro de mobile",
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "E-mail",
        "birthday": "Date de naissance",
        "submit": "S'inscrire",
        HONEYPOT: "Laissez ce champ vide",
    },
}
INPUT_TYPES = {"email": "email", "birthday": "date"}
AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "birthday": "bday",
}


@dataclass(frozen=True, slots=True)
class FormDefaults:
    """What the default texts are made of: the settings in effect."""

    brand: str
    help_contact: str
    confirm_word: str
    """The first of CONFIRM_KEYWORDS: what the confirmation text asks for."""
    country: str
    """DEFAULT_REGION: the allowed country of a form created without any."""


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


# -- defaults -----------------------------------------------------------------------------------


def default_disclosure(
    defaults: FormDefaults,
    language: str = "en",
    terms_url: str | None = None,
    privacy_url: str | None = None,
) -> str:
    """Who is texting, what, that consent is no condition of purchase, how often, the rates,
    HELP and STOP, and the terms and privacy policy when given: what US carriers expect."""
    brand, contact = defaults.brand, defaults.help_contact
    if language == "fr":
        words = [
            f"En envoyant ce formulaire, vous acceptez de recevoir de {brand} des SMS marketing "
            "récurrents envoyés automatiquement au numéro indiqué. Votre consentement n'est pas "
            "une condition d'achat. La fréquence des messages varie. Des frais de SMS et de "
            "données peuvent s'appliquer. Répondez HELP pour obtenir de l'aide et STOP pour "
            "vous désabonner."
        ]
        if contact:
            words.append(f"Aide : {contact}.")
        if terms_url:
            words.append(f"Conditions : {terms_url}")
        if privacy_url:
            words.append(f"Confidentialité : {privacy_url}")
        return " ".join(words)
    words = [
        f"By submitting this form, you agree to receive recurring automated marketing text "
        f"messages from {brand} at the number provided. Consent is not a condition of "
        "purchase. Message frequency varies. Msg & data rates may apply. Reply HELP for help "
        "and STOP to cancel."
    ]
    if contact:
        words.append(f"Help: {contact}.")
    if terms_url:
        words.append(f"Terms: {terms_url}")
    if privacy_url:
        words.append(f"Privacy: {privacy_url}")
    return " ".join(words)


def default_confirmation(defaults: FormDefaults, language: str = "en") -> str:
    """Says how to confirm (the first CONFIRM_KEYWORDS word) and how to stop."""
    brand, word = defaults.brand, defaults.confirm_word
    if language == "fr":
        return (
            f"{brand} : répondez {word} pour confirmer votre inscription à nos SMS marketing. "
            "Des frais de SMS peuvent s'appliquer. Répondez STOP pour annuler."
        )
    return (
        f"{brand}: reply {word} to confirm you want our recurring marketing texts. "
        "Msg & data rates may apply. Reply STOP to cancel."
    )


def default_welcome(defaults: FormDefaults, language: str = "en") -> str:
    brand = defaults.brand
    if language == "fr":
        return (
            f"{brand} : bienvenue ! Votre inscription est confirmée. Fréquence variable. "
            "Répondez HELP pour de l'aide, STOP pour vous désabonner."
        )
    return (
        f"{brand}: welcome! You are subscribed. Msg frequency varies. "
        "Reply HELP for help, STOP to opt out."
    )


# -- use -----------------------------------------------------------------------------------------


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
    problems = _url_problems("terms_url", draft.terms_url) + _url_problems(
        "privacy_url", draft.privacy_url
    )
    checked = _checked(session, values, None, problems, defaults)
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
    checked = _checked(session, values, form, problems, defaults)
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


# -- embedding -----------------------------------------------------------------------------------


def hosted_url(form: SignupForm, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/join/{form.slug}"


def label_of(spec: Mapping[str, Any], language: str) -> str:
    """A field's label: the operator's, else the page's own words for a known field, else the
    attribute's name made readable (`favourite_store`: "Favourite store")."""
    given = spec.get("label")
    if given:
        return str(given)
    name = str(spec.get("name", ""))
    words = LABELS.get(language, LABELS["en"])
    return words.get(name) or name.replace("_", " ").capitalize()


def embed_snippets(form: SignupForm, public_url: str) -> dict[str, str]:
    """`url`: the hosted page; `html`: a plain `<form>` posting to it (no script, nothing
    loaded from elsewhere); `iframe`: the hosted page in a frame. Everything escaped."""
    url = hosted_url(form, public_url)
    language = form.language if form.language in LABELS else "en"
    words = LABELS[language]
    esc = _escape
    prefix = f"tc-{form.slug}"
    lines = [
        f'<form method="post" action="{esc(url)}" accept-charset="utf-8" '
        f'class="textcast-signup" lang="{esc(language)}">',
        _input_html(prefix, "phone", words["phone"], "tel", "tel", required=True),
    ]
    for spec in form.fields or []:
        name = str(spec.get("name", ""))
        lines.append(
            _input_html(
                prefix,
                name,
                label_of(spec, language),
                INPUT_TYPES.get(name, "text"),
                AUTOCOMPLETE.get(name),
                required=bool(spec.get("required")),
            )
        )
    disclosure = esc(form.disclosure).replace("\n", "<br>\n")
    lines += [
        f'  <p class="textcast-disclosure">{disclosure}</p>',
        f'  <input type="hidden" name="disclosure_version" value="{int(form.disclosure_version)}">',
        '  <div style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;'
        'overflow:hidden" aria-hidden="true">',
        f'    <label for="{esc(prefix)}-{HONEYPOT}">{esc(words[HONEYPOT])}</label>',
        f'    <input type="text" id="{esc(prefix)}-{HONEYPOT}" name="{HONEYPOT}" value="" '
        'tabindex="-1" autocomplete="off">',
        "  </div>",
        f'  <button type="submit">{esc(words["submit"])}</button>',
        "</form>",
    ]
    iframe = (
        f'<iframe src="{esc(url)}" title="{esc(form.title)}" width="100%" height="640" '
        'style="border:0;max-width:480px" loading="lazy"></iframe>'
    )
    return {"url": url, "html": "\n".join(lines), "iframe": iframe}


def _input_html(
    prefix: str,
    name: str,
    label: str,
    kind: str,
    autocomplete: str | None,
    *,
    required: bool,
) -> str:
    esc = _escape
    ident = f"{prefix}-{name}"
    attributes = [
        f'type="{kind}"',
        f'id="{esc(ident)}"',
        f'name="{esc(name)}"',
        *([f'autocomplete="{autocomplete}"'] if autocomplete else []),
        *(["required"] if required else []),
    ]
    return (
        f'  <p><label for="{esc(ident)}">{esc(label)}</label><br>\n'
        f"  <input {' '.join(attributes)}></p>"
    )


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- checks --------------------------------------------------------------------------------------


def _checked(
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


def _url_problems(name: str, value: str | None) -> list[FieldProblem]:
    if value is None or origin_of(value) is not None:
        return []
    return [FieldProblem(name, "must be a web address starting with https:// or http://", value)]
