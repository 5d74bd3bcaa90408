"""`textcast contacts …`: add, list, opt out and erase contacts, and import them from CSV files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from textcast.cli import render
from textcast.cli.common import console, domain_errors, open_database
from textcast.models import Contact

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from textcast.domain.accounts.audit import CLI

contacts_app = typer.Typer(help="Contacts (import them from CSV files).", no_args_is_help=True)


@contacts_app.command("add")
def contacts_add(
    phone: str,
    first_name: Annotated[str | None, typer.Option(help="First name.")] = None,
    last_name: Annotated[str | None, typer.Option(help="Last name.")] = None,
    evidence: Annotated[str | None, typer.Option(help="How this person agreed to texts.")] = None,
) -> None:
    """Add one contact (subscribed, with its consent evidence)."""
    from textcast.config import instance_secret
    from textcast.domain.audience import contacts
    from textcast.services import audience

    settings, database = open_database()
    draft = contacts.ContactDraft(phone, first_name, last_name, consent_evidence=evidence)
    with domain_errors():
        contact = audience.create_contact(
            database,
            instance_secret(settings),
            draft,
            default_region=settings.default_region,
            source="cli",
        )
    console.print(f"contact {contact.id}: {contact.phone} ({contact.status})")


@contacts_app.command("list")
def contacts_list(
    search: Annotated[str | None, typer.Option(help="Part of a number or a name.")] = None,
    list_name: Annotated[str | None, typer.Option("--list", help="Members of this list.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Contacts as a table, or as JSON."""
    from rich.table import Table
    from sqlalchemy import select

    from textcast.cli import listing
    from textcast.domain.audience import contacts
    from textcast.models import ContactList

    _, database = open_database()
    with database.read() as session:
        list_id = None
        if list_name is not None:
            list_id = session.scalar(select(ContactList.id).where(ContactList.name == list_name))
            if list_id is None:
                console.print(f"[bold red]error:[/] no list named {list_name!r}")
                raise typer.Exit(1)
        where = contacts.ContactFilter(search=search, list_id=list_id)
        rows = contacts.list_contacts(session, where, limit=limit)
        total = contacts.count_contacts(session, where)
    if as_json:
        listing.print_json(listing.contact(c) for c in rows)
        return
    table = Table("id", "phone", "name", "country", "status")
    for c in rows:
        name = " ".join(n for n in (c.first_name, c.last_name) if n)
        table.add_row(str(c.id), c.phone, name, c.country or "", c.status)
    Console().print(table)
    shown = f" ({len(rows):,} shown)" if total > len(rows) else ""
    console.print(f"{total:,} contact{'' if total == 1 else 's'}{shown}")


@contacts_app.command("opt-out")
def contacts_opt_out(
    contact_id: int,
    reason: Annotated[
        str, typer.Option(help="Why, or how the person asked: kept in the consent ledger.")
    ],
) -> None:
    """Unsubscribe a contact now (queued messages of running campaigns are skipped too)."""
    from textcast.config import instance_secret
    from textcast.domain.audience import consent
    from textcast.services import audience

    if not reason.strip():
        console.print("[bold red]error:[/] --reason: say why, e.g. 'asked by phone to stop'")
        raise typer.Exit(2)
    settings, database = open_database()
    evidence = consent.Evidence("cli", reason.strip()[:2000])
    with domain_errors():
        contact = audience.opt_out(database, CLI, instance_secret(settings), contact_id, evidence)
    console.print(f"contact {contact.id}: {contact.phone} ({contact.status})")


@contacts_app.command("consent")
def contacts_consent(
    contact: Annotated[str, typer.Argument(help="The contact's id, or its number.")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="json or csv, as the API downloads it (default: a summary)."),
    ] = None,
) -> None:
    """A contact's consent record, for a carrier's audit: where consent stands, every consent
    event with its evidence (for a sign-up: the disclosure shown, where, when, from which
    address and browser, the confirming reply), and sign-ups not confirmed."""
    from textcast.domain.audience import consent_exports, consent_records

    if format not in (None, "json", "csv"):
        console.print(f"[red]--format[/]: {format!r} is not json or csv")
        raise typer.Exit(2)
    settings, database = open_database()
    with domain_errors(), database.read() as session:
        contact_id = _contact_id(session, contact, settings.default_region)
        record = consent_records.consent_record(session, contact_id)
    if format == "json":
        sys.stdout.buffer.write(consent_exports.record_json(record))
    elif format == "csv":
        sys.stdout.write(consent_exports.record_csv(record))
    else:
        render.consent_record(record)


def _contact_id(session: Session, given: str, default_region: str) -> int:
    """An id (digits) or a number; a national number of digits alone is tried as both."""
    from textcast.domain.audience import contacts
    from textcast.domain.errors import NotFound
    from textcast.domain.phones.numbers import InvalidPhone, normalise_phone

    text = given.strip()
    if text.isdigit() and session.get(Contact, int(text)) is not None:
        return int(text)
    try:
        found = contacts.find_by_phone(session, normalise_phone(text, default_region))
    except InvalidPhone:
        found = None
    if found is None:
        raise NotFound("contact", text)
    return found.id


@contacts_app.command("restore")
def contacts_restore(
    contact: Annotated[str, typer.Argument(help="The contact's id, or its number.")],
) -> None:
    """Subscribe again a number list hygiene made invalid (its failure streak starts over)."""
    from textcast.services import hygiene

    settings, database = open_database()
    with domain_errors():
        with database.read() as session:
            contact_id = _contact_id(session, contact, settings.default_region)
        restored = hygiene.restore_contact(database, CLI, contact_id)
    console.print(f"contact {restored.id}: {restored.phone} ({restored.status})")


@contacts_app.command("erase")
def contacts_erase(
    contact_id: int,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase a contact's personal data everywhere (an opt-out's keyed hash stays)."""
    from textcast.config import instance_secret
    from textcast.domain.errors import NotFound
    from textcast.services import audience

    if not yes:
        console.print("[bold red]error:[/] erasing cannot be undone; add --yes to confirm")
        raise typer.Exit(2)
    settings, database = open_database()
    try:
        erased = audience.erase_contact(database, CLI, instance_secret(settings), contact_id)
    except NotFound as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    kept = "; its opt-out is kept as a keyed hash" if erased.kept_suppression else ""
    console.print(
        f"contact {contact_id} erased: {erased.messages} messages scrubbed, {erased.inbound} "
        f"inbound messages, {erased.signups} sign-ups and {erased.webhook_events} stored "
        f"callbacks cleaned{kept}"
    )


@contacts_app.command("import")
def contacts_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a phone column.")
    ],
    list_name: Annotated[
        str | None, typer.Option("--list", help="Add the contacts to this list (made if new).")
    ] = None,
    default_region: Annotated[
        str | None,
        typer.Option(help="Country of national numbers like 0612345678 (DEFAULT_REGION)."),
    ] = None,
    consent_confirmed: Annotated[
        bool,
        typer.Option(
            "--consent-confirmed",
            help="Confirm these contacts agreed to receive marketing texts from you (asked on "
            "a terminal when not given; required otherwise).",
        ),
    ] = False,
) -> None:
    """Import contacts from a CSV file, with a progress bar and a summary."""
    import sys

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from textcast.config import instance_secret
    from textcast.domain.errors import InvalidInput
    from textcast.domain.imports import jobs
    from textcast.services import imports as importing

    if not consent_confirmed and sys.stdin.isatty():
        consent_confirmed = typer.confirm(
            "Do these contacts agree to receive marketing texts from you?"
        )
    settings, database = open_database()
    try:
        job = importing.start_import(
            database,
            CLI,
            path=file,
            filename=file.name,
            default_region=default_region or settings.default_region,
            consent_confirmed=consent_confirmed,
            list_name=list_name,
        )
    except InvalidInput as exc:
        names = {
            "file": "FILE",
            "list": "--list",
            "default_region": "--default-region",
            "consent_confirmed": "--consent-confirmed",
        }
        for problem in exc.problems:
            console.print(f"[red]{names.get(problem.field, problem.field)}[/]: {problem.message}")
        raise typer.Exit(1) from None
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"import {job.id}: {file.name}", total=job.bytes_total)

        def show(progress: jobs.Progress) -> None:
            bar.update(
                task,
                completed=progress.bytes_read,
                description=f"import {job.id}: {progress.rows:,} rows",
            )

        done = importing.run_import(
            database, job.id, file, instance_secret(settings), on_progress=show, confirmed_by=CLI
        )
    summary = Table(title=f"Import {done.id} of {done.filename}: {done.status}")
    summary.add_column("rows")
    summary.add_column("", justify="right")
    for label, count in (
        ("created", done.created),
        ("updated", done.updated),
        ("kept opted out (never re-subscribed)", done.kept_opted_out),
        ("duplicates in the file", done.duplicates),
        ("rejected", done.rejected),
    ):
        summary.add_row(label, f"{count:,}")
    summary.add_row("[bold]total", f"[bold]{done.rows:,}")
    if done.rejected:
        summary.caption = f"rejected rows with their line: /api/v1/imports/{done.id}/rejections.csv"
    Console().print(summary)
    if done.status != "completed":
        console.print(f"[bold red]import failed:[/] {done.error}")
        raise typer.Exit(1)
