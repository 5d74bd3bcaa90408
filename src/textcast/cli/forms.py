"""`textcast forms …`: sign-up forms, created, listed, shown with their figures and embed code,
archived and restored."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from textcast.cli.common import console, domain_errors, open_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from textcast.db import Database
    from textcast.domain.signups.forms import FormStats
    from textcast.models import SignupForm

forms_app = typer.Typer(
    help="Sign-up forms: hosted at /join/SLUG, embeddable on your site.", no_args_is_help=True
)

OPTIONS = {
    "list_id": "--list",
    "slug": "--slug",
    "title": "--title",
    "name": "--name",
    "fields": "--field",
    "allowed_countries": "--country",
    "allowed_origins": "--origin",
    "redirect_url": "--redirect",
    "language": "--language",
    "confirmation_text": "--confirmation",
    "welcome_text": "--welcome",
    "disclosure": "--disclosure",
    "confirmations_per_hour": "--per-hour",
}
"""The option each setting comes from, to name it in an error."""


def parse_field(text: str) -> dict[str, Any]:
    """`email`, `email:required`, `store:Favourite store`, `store:Favourite store:required`."""
    name, _, rest = text.partition(":")
    label, required = rest.strip(), False
    if label.lower() == "required" or label.lower().endswith(":required"):
        label, required = label[: -len("required")].rstrip(": ").strip(), True
    spec: dict[str, Any] = {"name": name.strip(), "required": required}
    if label:
        spec["label"] = label
    return spec


def _list_id(session: Session, reference: str) -> int:
    """A list by name, else by id (0 when there is none: the form's check says so)."""
    from textcast.domain.audience import lists

    found = {found.name: found.id for found, _ in lists.list_lists(session)}
    if reference in found:
        return found[reference]
    if reference.isdigit() and int(reference) in found.values():
        return int(reference)
    console.print(f"[red]--list[/]: no list is named or numbered {reference!r}")
    raise typer.Exit(1)


@forms_app.command("create")
def forms_create(
    list_name: Annotated[str, typer.Option("--list", help="The list sign-ups join (name or id).")],
    slug: Annotated[str, typer.Option(help="The page's address: /join/SLUG.")],
    title: Annotated[str, typer.Option(help="The page's heading.")],
    name: Annotated[str | None, typer.Option(help="For your lists; the title if left out.")] = None,
    single_opt_in: Annotated[
        bool,
        typer.Option("--single-opt-in", help='Subscribe at once, without "Reply Y to confirm".'),
    ] = False,
    country: Annotated[
        list[str] | None,
        typer.Option(help="A country whose numbers may sign up (repeat; DEFAULT_REGION if none)."),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            help="A field besides the phone: first_name, email:required, "
            '"store:Favourite store" (repeat, in order).'
        ),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(help="A site that may embed the form, e.g. https://shop.example (repeat)."),
    ] = None,
    redirect: Annotated[
        str | None, typer.Option(help="Go there after signing up (on an --origin site).")
    ] = None,
    language: Annotated[str, typer.Option(help="en or fr: the page's own words.")] = "en",
    confirmation: Annotated[
        str | None, typer.Option(help='The "Reply Y to confirm" text (a default if none).')
    ] = None,
    welcome: Annotated[
        str | None, typer.Option(help='The welcome text (a default if none; "" for none).')
    ] = None,
    disclosure: Annotated[
        str | None, typer.Option(help="The consent text (a default one if none).")
    ] = None,
    per_hour: Annotated[
        int, typer.Option("--per-hour", help="Confirmation texts per hour at most; 0: no cap.")
    ] = 100,
) -> None:
    """Create a sign-up form, then print its address and embed code."""
    from textcast.domain.accounts import audit
    from textcast.domain.signups.forms import FormDraft
    from textcast.services import forms

    settings, database = open_database()
    with database.read() as session:
        list_id = _list_id(session, list_name)
    draft = FormDraft(
        list_id=list_id,
        slug=slug,
        title=title,
        name=name,
        fields=[parse_field(one) for one in field or []],
        disclosure=disclosure,
        double_opt_in=not single_opt_in,
        allowed_countries=country or None,
        confirmation_text=confirmation,
        welcome_text=welcome,
        redirect_url=redirect,
        allowed_origins=origin or [],
        language=language,
        confirmations_per_hour=per_hour,
    )
    with _form_errors():
        created = forms.create_form(database, audit.CLI, draft, forms.form_defaults(settings))
    console.print(f"form {created.id}: {created.name}", markup=False)
    _show(database, created.id, settings.public_url, as_json=False)


@forms_app.command("list")
def forms_list(
    archived: Annotated[bool, typer.Option("--archived", help="Archived forms too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every form with its figures: views, sign-ups, confirmed, conversion, blocked."""
    from rich.table import Table

    from textcast.domain.signups import embeds, forms

    settings, database = open_database()
    with database.read() as session:
        found = forms.list_forms(session, include_archived=archived)
        stats = forms.stats_of_forms(session, found)
    if as_json:
        rows = [_as_json(form, stats[form.id], settings.public_url) for form in found]
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(
        "id", "slug", "name", "views", "sign-ups", "confirmed", "conversion", "blocked", "page"
    )
    for form in found:
        figures = stats[form.id]
        name = form.name + (" (archived)" if form.archived_at else "")
        table.add_row(
            str(form.id),
            form.slug,
            name,
            f"{figures.views:,}",
            f"{figures.submissions:,}",
            f"{figures.confirmed:,}",
            _rate(figures),
            f"{figures.blocked:,}",
            embeds.hosted_url(form, settings.public_url),
        )
    Console().print(table)


@forms_app.command("show")
def forms_show(
    reference: Annotated[str, typer.Argument(metavar="SLUG|ID", help="The form's slug or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """A form's settings, figures and embed code."""
    from textcast.domain.signups import forms

    settings, database = open_database()
    with domain_errors(), database.read() as session:
        form_id = forms.get_form_by_reference(session, reference).id
    _show(database, form_id, settings.public_url, as_json=as_json)


@forms_app.command("archive")
def forms_archive(
    reference: Annotated[str, typer.Argument(metavar="SLUG|ID", help="The form's slug or id.")],
) -> None:
    """Archive a form: its page answers 404 and accepts nothing; its sign-ups stay."""
    _change_state(reference, archive=True)


@forms_app.command("restore")
def forms_restore(
    reference: Annotated[str, typer.Argument(metavar="SLUG|ID", help="The form's slug or id.")],
) -> None:
    """Bring an archived form back."""
    _change_state(reference, archive=False)


def _change_state(reference: str, *, archive: bool) -> None:
    from textcast.domain.accounts import audit
    from textcast.domain.signups import forms as form_rules
    from textcast.services import forms

    _, database = open_database()
    with domain_errors():
        with database.read() as session:
            form_id = form_rules.get_form_by_reference(session, reference).id
        change = forms.archive_form if archive else forms.restore_form
        form = change(database, audit.CLI, form_id)
    done = "archived" if archive else "restored"
    console.print(f"form {form.id} ({form.slug}) {done}", markup=False)


def _show(database: Database, form_id: int, public_url: str, *, as_json: bool) -> None:
    from textcast.domain.audience import lists
    from textcast.domain.signups import embeds, forms

    with database.read() as session:
        form = forms.get_form(session, form_id)
        figures = forms.form_stats(session, form)
        list_name = lists.get_list(session, form.list_id).name
    if as_json:
        print(json.dumps(_as_json(form, figures, public_url), indent=2, ensure_ascii=False))
        return
    out = Console(highlight=False)
    embed = embeds.embed_snippets(form, public_url)
    state = " (archived)" if form.archived_at else ""
    lines = [
        f"form {form.id}: {form.name}{state}",
        f"page: {embed['url']}",
        f"list: {list_name} ({form.list_id})    language: {form.language}    "
        f"{'double' if form.double_opt_in else 'single'} opt-in",
        f"countries: {', '.join(form.allowed_countries)}",
        f"fields: phone (required){''.join(', ' + _field_words(f) for f in form.fields)}",
        f"allowed sites: {', '.join(form.allowed_origins) or 'none'}",
        f"after signing up: {form.redirect_url or 'the thank-you page'}",
        f"confirmations per hour: {form.confirmations_per_hour or 'no cap'}",
        f"disclosure (version {form.disclosure_version}): {form.disclosure}",
        f"confirmation text: {form.confirmation_text}",
        f"welcome text: {form.welcome_text or 'none'}",
        f"views {figures.views:,} · sign-ups {figures.submissions:,} · confirmed "
        f"{figures.confirmed:,} · pending {figures.pending:,} · expired {figures.expired:,} · "
        f"cancelled {figures.cancelled:,} · blocked {figures.blocked:,} · conversion "
        f"{_rate(figures)}",
        "",
        "embed (HTML):",
        embed["html"],
        "",
        "embed (iframe):",
        embed["iframe"],
    ]
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


def _field_words(spec: dict[str, Any]) -> str:
    label = f' "{spec["label"]}"' if spec.get("label") else ""
    return f"{spec['name']}{label}{' (required)' if spec.get('required') else ''}"


def _rate(figures: FormStats) -> str:
    rate = figures.conversion_rate
    return "-" if rate is None else f"{rate:.1%}"


def _as_json(form: SignupForm, figures: FormStats, public_url: str) -> dict[str, Any]:
    """The API's fields (`GET /api/v1/forms/{id}`)."""
    from textcast.domain.signups import embeds

    return {
        "id": form.id,
        "slug": form.slug,
        "name": form.name,
        "list_id": form.list_id,
        "title": form.title,
        "description": form.description,
        "fields": [
            {"name": f["name"], "label": f.get("label"), "required": bool(f.get("required"))}
            for f in form.fields or []
        ],
        "disclosure": form.disclosure,
        "disclosure_version": form.disclosure_version,
        "double_opt_in": form.double_opt_in,
        "allowed_countries": form.allowed_countries,
        "confirmation_text": form.confirmation_text,
        "welcome_text": form.welcome_text,
        "thank_you_text": form.thank_you_text,
        "redirect_url": form.redirect_url,
        "allowed_origins": form.allowed_origins,
        "language": form.language,
        "confirmations_per_hour": form.confirmations_per_hour,
        "url": embeds.hosted_url(form, public_url),
        "archived": form.archived_at is not None,
        "archived_at": form.archived_at.isoformat() if form.archived_at else None,
        "created_at": form.created_at.isoformat(),
        "updated_at": form.updated_at.isoformat(),
        "stats": {
            "views": figures.views,
            "submissions": figures.submissions,
            "confirmed": figures.confirmed,
            "pending": figures.pending,
            "expired": figures.expired,
            "cancelled": figures.cancelled,
            "blocked": figures.blocked,
            "conversion_rate": figures.conversion_rate,
        },
    }


@contextlib.contextmanager
def _form_errors() -> Iterator[None]:
    """`domain_errors`, with each setting named by the option it came from."""
    from rich.markup import escape

    from textcast.domain.errors import InvalidInput

    with domain_errors():
        try:
            yield
        except InvalidInput as exc:
            for problem in exc.problems:
                head = problem.field.split("[")[0].split(".")[0]
                where = problem.field.replace(head, OPTIONS.get(head, head), 1)
                value = f" ({problem.value})" if problem.value else ""
                console.print(f"[red]{escape(where)}[/]: {escape(problem.message + value)}")
            raise typer.Exit(1) from None
