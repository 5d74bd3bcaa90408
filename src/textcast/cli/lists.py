"""`textcast lists …`: contact lists (a campaign's audience), listed and created."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from textcast.cli.common import console, domain_errors, open_database

lists_app = typer.Typer(help="Contact lists, which campaigns send to.", no_args_is_help=True)


@lists_app.command("list")
def lists_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Lists by name, with how many contacts each holds."""
    from rich.table import Table

    from textcast.cli import listing
    from textcast.domain.audience import lists

    _, database = open_database()
    with database.read() as session:
        rows = lists.list_lists(session)
    if as_json:
        listing.print_json(listing.contact_list(found, members) for found, members in rows)
        return
    table = Table("id", "name", "members", "created (UTC)")
    for found, members in rows:
        table.add_row(
            str(found.id), found.name, f"{members:,}", f"{found.created_at:%Y-%m-%d %H:%M}"
        )
    Console().print(table)


@lists_app.command("create")
def lists_create(name: Annotated[str, typer.Argument(help="The list's name, unique.")]) -> None:
    """Create an empty list (add contacts with `textcast contacts import --list NAME`)."""
    from textcast.services import audience

    _, database = open_database()
    with domain_errors():
        created = audience.create_list(database, name)
    console.print(f"list {created.id}: {created.name}")
