"""The command line, `textcast …`: the Typer app, made of the command groups beside it.

`serve` runs the processes (serve, worker, simulator, demo, db upgrade); `campaigns`,
`contacts`, `lists`, `segments`, `keywords`, `flows`, `events`, `inbox`, `accounts` (users,
apikeys, audit), `settings` and `webhooks` are the command groups; `common` is what every
command shares (settings, database, errors to exit codes); `listing` is what the list commands
print as JSON; `render` and `analytics` draw in the terminal; `demo` is what `textcast demo`
runs.
"""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from textcast.cli import (
    accounts,
    campaigns,
    contacts,
    events,
    flows,
    forms,
    inbox,
    keywords,
    lists,
    segments,
    serve,
    settings,
    webhooks,
)
from textcast.cli import consent as consent_commands

__all__ = ["app", "main"]

app = typer.Typer(
    help="textcast: self-hosted SMS campaigns on Sinch.", no_args_is_help=True, add_completion=False
)
app.add_typer(serve.db_app, name="db")
app.add_typer(campaigns.campaigns_app, name="campaigns")
app.add_typer(contacts.contacts_app, name="contacts")
app.add_typer(lists.lists_app, name="lists")
app.add_typer(segments.segments_app, name="segments")
app.add_typer(forms.forms_app, name="forms")
app.add_typer(keywords.keywords_app, name="keywords")
app.add_typer(flows.flows_app, name="flows")
app.add_typer(inbox.inbox_app, name="inbox")
app.add_typer(events.events_app, name="events")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.apikeys_app, name="apikeys")
app.add_typer(settings.settings_app, name="settings")
app.add_typer(consent_commands.consent_app, name="consent")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.command("audit")(accounts.audit_list)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(serve.simulator)
app.command()(serve.demo)


def version() -> str:
    """The installed package's version (from its metadata), else the source's own."""
    try:
        return metadata.version("textcast")
    except metadata.PackageNotFoundError:
        from textcast import __version__

        return __version__


def _print_version(asked: bool) -> None:
    if asked:
        print(f"textcast {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """textcast: self-hosted SMS campaigns on Sinch."""


def main() -> None:
    app()
