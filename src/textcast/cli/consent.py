"""`textcast consent export`: everyone's consent ledger as a file, for a carrier's audit."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from textcast.cli.common import console, open_database

consent_app = typer.Typer(help="The consent ledger (proof of consent).", no_args_is_help=True)


@consent_app.command("export")
def consent_export(
    format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    since: Annotated[
        str | None,
        typer.Option(help="Only the events from this moment on (ISO 8601, e.g. 2026-12-01)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Every consent event of every contact, oldest first, with who made it and, for a
    sign-up, its evidence in full; written page by page, for any size of audience."""
    from textcast.domain.audience import consent_exports

    if format not in ("csv", "json"):
        console.print(f"[red]--format[/]: {format!r} is not csv or json")
        raise typer.Exit(2)
    moment = _moment(since) if since else None
    _, database = open_database()
    pieces = (
        (piece.encode() for piece in consent_exports.ledger_csv(database, moment))
        if format == "csv"
        else consent_exports.ledger_json(database, moment)
    )
    out = output.open("wb") if output is not None else sys.stdout.buffer
    try:
        for piece in pieces:
            out.write(piece)
    finally:
        if output is not None:
            out.close()
        else:
            out.flush()
    if output is not None:
        console.print(f"consent ledger written to {output}")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        console.print(f"[red]--since[/]: {text!r} is not a date or time such as 2026-12-01")
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
