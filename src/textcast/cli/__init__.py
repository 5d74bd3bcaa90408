"""The command line, `textcast …`: the Typer app, made of the command groups beside it.

`serve` runs the processes (serve, worker, simulator, demo, db upgrade); `campaigns`, `contacts`,
`segments` and `accounts` (users, apikeys, audit) are the command groups; `common` is what every
command shares (settings, database, errors to exit codes); `render` and `analytics` draw in the
terminal; `demo` is what `textcast demo` runs.
"""

from __future__ import annotations

import typer

from textcast.cli import accounts, campaigns, contacts, segments, serve

__all__ = ["app", "main"]

app = typer.Typer(
    help="textcast: self-hosted SMS campaigns on Sinch.", no_args_is_help=True, add_completion=False
)
app.add_typer(serve.db_app, name="db")
app.add_typer(campaigns.campaigns_app, name="campaigns")
app.add_typer(contacts.contacts_app, name="contacts")
app.add_typer(segments.segments_app, name="segments")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.apikeys_app, name="apikeys")
app.command("audit")(accounts.audit_list)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(serve.simulator)
app.command()(serve.demo)


def main() -> None:
    app()
