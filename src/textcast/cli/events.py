"""`textcast events …`: post an event by hand (as a shop's backend would to the events API),
and see what arrived and what came of it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from textcast.cli.common import console, domain_errors, open_database

events_app = typer.Typer(help="Events that start and end flows (order_placed...).")


@events_app.command("send")
def events_send(
    name: Annotated[str, typer.Argument(help="The event's name, e.g. order_placed.")],
    phone: Annotated[str | None, typer.Option(help="Whose event: a phone number...")] = None,
    contact: Annotated[int | None, typer.Option(help="...or a contact's id.")] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(help="A property as key=value, kept as text (repeatable)."),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key again stores and does nothing again.")
    ] = None,
) -> None:
    """Post an event: it starts the flows it triggers, wakes runs waiting for it and ends
    runs whose goal it is (a running worker moves them on)."""
    from textcast.config import instance_secret
    from textcast.domain import flows
    from textcast.services import flows as use_cases

    if (phone is None) == (contact is None):
        console.print("[bold red]error:[/] give --phone or --contact")
        raise typer.Exit(2)
    properties: dict[str, str] = {}
    for given in prop or []:
        key, equals, value = given.partition("=")
        if not equals or not key.strip():
            console.print(f"[red]--prop[/]: {escape(given)!r} is not key=value")
            raise typer.Exit(2)
        properties[key.strip()] = value
    settings, database = open_database()
    event = flows.EventInput(
        name=name,
        phone=phone,
        contact_id=contact,
        properties=properties,
        idempotency_key=idempotency_key,
    )
    with domain_errors():
        recorded = use_cases.post_event(
            database, event, settings.default_region, instance_secret(settings)
        )
    stored = recorded.event
    again = " (seen before under this key: nothing done again)" if recorded.replayed else ""
    console.print(f"event {stored.id}: {stored.name} {stored.outcome}{again}")
    console.print(flows.describe_event(stored))


@events_app.command("summary")
def events_summary() -> None:
    """How many of each event arrived, and what came of them."""
    from textcast.domain import flows

    _, database = open_database()
    with database.read() as session:
        counts = flows.event_counts(session)
    table = Table("event", "outcome", "count")
    for event, outcome, count in counts:
        table.add_row(escape(event), outcome, f"{count:,}")
    Console().print(table)
