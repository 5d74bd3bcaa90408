"""`textcast webhooks …`: the endpoints that receive the event stream, made, shown, changed,
disabled, enabled, deleted; their secret rotated; a test event sent; the delivery log read
and deliveries replayed.

The command line sends nothing itself: what it queues goes out when the server or a worker
next looks (the delivery engine)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from textcast.cli.common import console, domain_errors, open_database
from textcast.models import DeliveryStatus, utcnow
from textcast.wording import moment

if TYPE_CHECKING:
    from textcast.models import WebhookSubscription

webhooks_app = typer.Typer(
    help="Webhook subscriptions: endpoints that receive textcast's events, signed.",
    no_args_is_help=True,
)

SubscriptionId = Annotated[
    int, typer.Argument(help="The subscription's id (see `textcast webhooks list`).")
]
EventOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        help="An event type it wants, e.g. message.delivered (repeatable); * for all.",
    ),
]
AGO = re.compile(r"^\s*(\d+)\s*(m|min|minutes?|h|hours?|d|days?)\s*(ago)?\s*$", re.IGNORECASE)
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def read_when(text: str) -> datetime:
    """`2026-12-07T09:00Z`, `2026-12-07 09:00` (UTC), or a while ago: `30m`, `6h`, `2d`."""
    if found := AGO.match(text):
        unit = UNITS[found[2][0].lower()]
        return utcnow() - timedelta(**{unit: int(found[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        console.print(
            f"[red]--since[/]: {escape(text)!r} is neither a date and time "
            "(2026-12-07T09:00Z) nor a while ago (30m, 6h, 2d)"
        )
        raise typer.Exit(2) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _types(s: WebhookSubscription) -> str:
    return "all" if "*" in s.event_types else ", ".join(s.event_types)


def _status(s: WebhookSubscription) -> str:
    if s.status == "active":
        return "active"
    return "disabled by textcast" if s.disabled_reason else "disabled"


def _print_secret(secret: str) -> None:
    Console().print(f"secret (shown once, store it now): {secret}", highlight=False)


@webhooks_app.command("list")
def webhooks_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Subscriptions, oldest first, with their last delivery."""
    from textcast.cli import listing
    from textcast.domain.webhooks import logs, subscriptions

    _, database = open_database()
    with database.read() as session:
        rows = subscriptions.list_subscriptions(session)
        last = logs.last_deliveries(session)
    if as_json:
        listing.print_json(listing.webhook_subscription(s) for s in rows)
        return
    table = Table("id", "url", "events", "status", "description", "last delivery")
    for s in rows:
        latest = last.get(s.id)
        table.add_row(
            str(s.id),
            escape(s.url),
            escape(_types(s)),
            _status(s),
            escape(s.description),
            f"{latest.status} {moment(latest.created_at)}" if latest else "none yet",
        )
    Console().print(table)


@webhooks_app.command("create")
def webhooks_create(
    url: Annotated[str, typer.Argument(help="Where to post: https://...")],
    event: EventOption = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Subscribe an endpoint; its signing secret is printed this once."""
    from textcast.domain.accounts.audit import CLI
    from textcast.domain.webhooks.subscriptions import SubscriptionDraft
    from textcast.services import webhooks

    settings, database = open_database()
    with domain_errors():
        made = webhooks.create_subscription(
            database,
            CLI,
            SubscriptionDraft(url, event or [], description),
            allow_private=settings.webhook_allow_private,
        )
    s = made.subscription
    console.print(f"webhook {s.id}: {s.url} gets {_types(s)}")
    _print_secret(made.secret)


@webhooks_app.command("show")
def webhooks_show(subscription_id: SubscriptionId) -> None:
    """A subscription (never its secret) and its deliveries per status."""
    from textcast.domain.webhooks import logs, subscriptions

    _, database = open_database()
    with domain_errors(), database.read() as session:
        s = subscriptions.get_subscription(session, subscription_id)
        counts = logs.status_counts(session, subscription_id)
    grid = Table.grid(padding=(0, 2))
    grid.add_row("webhook", str(s.id))
    grid.add_row("url", escape(s.url))
    grid.add_row("description", escape(s.description) or "none")
    grid.add_row("events", escape(_types(s)))
    grid.add_row("status", _status(s))
    if s.disabled_reason:
        grid.add_row("why", escape(s.disabled_reason))
    if s.failing_since:
        grid.add_row("failing since", moment(s.failing_since))
    grid.add_row("last success", moment(s.last_success_at) if s.last_success_at else "never")
    grid.add_row("deliveries", ", ".join(f"{status} {n:,}" for status, n in counts.items()))
    grid.add_row("created", moment(s.created_at))
    Console().print(grid)


@webhooks_app.command("update")
def webhooks_update(
    subscription_id: SubscriptionId,
    url: Annotated[str | None, typer.Option(help="A new URL.")] = None,
    event: EventOption = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
) -> None:
    """Change a subscription's URL, event types (given: they replace the old) or description."""
    from textcast.domain.accounts.audit import CLI
    from textcast.domain.webhooks.subscriptions import SubscriptionChange
    from textcast.services import webhooks

    settings, database = open_database()
    with domain_errors():
        s = webhooks.update_subscription(
            database,
            CLI,
            subscription_id,
            SubscriptionChange(url, event or None, description),
            allow_private=settings.webhook_allow_private,
        )
    console.print(f"webhook {s.id}: {s.url} gets {_types(s)}")


@webhooks_app.command("disable")
def webhooks_disable(subscription_id: SubscriptionId) -> None:
    """Stop sending to it; its pending deliveries are given up."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import webhooks

    _, database = open_database()
    with domain_errors():
        s = webhooks.disable_subscription(database, CLI, subscription_id)
    console.print(f"webhook {s.id} disabled")


@webhooks_app.command("enable")
def webhooks_enable(subscription_id: SubscriptionId) -> None:
    """Send to it again (also after textcast disabled it)."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import webhooks

    _, database = open_database()
    with domain_errors():
        s = webhooks.enable_subscription(database, CLI, subscription_id)
    console.print(f"webhook {s.id} active")


@webhooks_app.command("delete")
def webhooks_delete(
    subscription_id: SubscriptionId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a subscription and its delivery log."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import webhooks

    if not yes:
        typer.confirm(f"Delete webhook {subscription_id} and its delivery log?", abort=True)
    _, database = open_database()
    with domain_errors():
        gone = webhooks.delete_subscription(database, CLI, subscription_id)
    console.print(f"webhook {gone.id} deleted")


@webhooks_app.command("rotate-secret")
def webhooks_rotate_secret(subscription_id: SubscriptionId) -> None:
    """A new signing secret, printed this once; the old one stops at once."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import webhooks

    _, database = open_database()
    with domain_errors():
        rotated = webhooks.rotate_secret(database, CLI, subscription_id)
    console.print(f"webhook {rotated.subscription.id}: new secret")
    _print_secret(rotated.secret)


@webhooks_app.command("test")
def webhooks_test(subscription_id: SubscriptionId) -> None:
    """Queue a webhook.test event for this subscription only."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import webhooks

    _, database = open_database()
    with domain_errors():
        made = webhooks.send_test_event(database, CLI, subscription_id)
    console.print(f"test event queued: delivery {made.id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    subscription_id: SubscriptionId,
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only pending, delivered or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
) -> None:
    """The delivery log, newest first, with the counts per status."""
    from textcast.domain.webhooks import logs

    _, database = open_database()
    with domain_errors(), database.read() as session:
        rows = logs.list_deliveries(session, subscription_id, status=status, limit=limit)
        counts = logs.status_counts(session, subscription_id)
    # An event type, a status and a time are read whole: only the answer wraps.
    table = Table(
        Column("id", no_wrap=True),
        Column("event", no_wrap=True),
        Column("status", no_wrap=True),
        "attempts",
        "code",
        Column("latency", no_wrap=True),
        "answer / error",
        Column("at", no_wrap=True),
        title=", ".join(f"{s} {n:,}" for s, n in counts.items()),
    )
    for row in rows:
        d = row.delivery
        table.add_row(
            str(d.id),
            str(row.event_type),
            d.status,
            str(d.attempts),
            str(d.response_status or ""),
            f"{d.latency_ms} ms" if d.latency_ms is not None else "",
            escape((d.error or d.response_excerpt or "")[:60]),
            moment(d.last_attempt_at or d.created_at),
        )
    Console().print(table)


@webhooks_app.command("replay")
def webhooks_replay(
    subscription_id: SubscriptionId,
    delivery: Annotated[int | None, typer.Option(help="Send this delivery's event again.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Send again every wanted event since then: 2026-12-07T09:00Z, 6h, 2d."),
    ] = None,
) -> None:
    """Send one delivery again (--delivery), or everything since a moment (--since)."""
    from textcast.domain.accounts.audit import CLI
    from textcast.domain.webhooks import replays
    from textcast.services import webhooks

    if (delivery is None) == (since is None):
        console.print("[bold red]error:[/] give --delivery or --since")
        raise typer.Exit(2)
    _, database = open_database()
    if delivery is not None:
        with domain_errors():
            made = webhooks.replay_delivery(database, CLI, subscription_id, delivery)
        console.print(f"delivery {delivery} queued again: delivery {made.id}")
        return
    assert since is not None
    moment_ = read_when(since)
    with domain_errors():
        replayed = webhooks.replay_since(database, CLI, subscription_id, moment_)
    console.print(replays.describe(replayed))
