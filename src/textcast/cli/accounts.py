"""`textcast users …`, `textcast apikeys …`, `textcast audit`: accounts from the command line.

The command line acts with the database's own authority (whoever can run it can read the
database anyway); what it does is still written to the audit log, as `cli`.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from textcast.cli import listing
from textcast.cli.common import console, domain_errors, open_database
from textcast.domain.accounts import api_keys, audit, passwords, users
from textcast.domain.accounts.permissions import Scope
from textcast.models import Role
from textcast.services import accounts
from textcast.wording import plural

users_app = typer.Typer(
    help="People who sign in to the dashboard and the API.", no_args_is_help=True
)
apikeys_app = typer.Typer(help="API keys (each shown once, at creation).", no_args_is_help=True)
out = Console()


def _prompt_password() -> str:
    while True:
        password = getpass.getpass("Password: ")
        if (problem := passwords.password_problem(password)) is not None:
            print(f"The password {problem}.", file=sys.stderr)
            continue
        if getpass.getpass("Again: ") == password:
            return password
        print("The two passwords differ.", file=sys.stderr)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    admin: Annotated[bool, typer.Option("--admin", help="Same as --role admin.")] = False,
    role: Annotated[
        Role, typer.Option(help="admin, editor (campaigns, contacts) or viewer (read only).")
    ] = Role.VIEWER,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate the password and print it once.")
    ] = False,
) -> None:
    """Create a user. The password is prompted for (on a terminal), else generated and
    printed once."""
    prompted = None if generate or not sys.stdin.isatty() else _prompt_password()
    _, database = open_database()
    with domain_errors():
        created = accounts.create_user(
            database, audit.CLI, email, prompted, Role.ADMIN if admin else role
        )
    user = created.user
    out.print(f"user {user.id}: {user.email} ({user.role.value})")
    if created.password is not None:
        out.print(f"password (shown once): {created.password}", highlight=False)


@users_app.command("update")
def users_update(
    email: Annotated[str, typer.Argument(help="The user's sign-in email.")],
    role: Annotated[Role | None, typer.Option(help="New role.")] = None,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Block or allow signing in.")
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Set a new password (prompted, else generated).")
    ] = False,
    revoke_keys: Annotated[
        bool,
        typer.Option("--revoke-keys", help="Also revoke all the user's API keys."),
    ] = False,
) -> None:
    """Change a user's role, block or allow them, or reset a forgotten password. Disabling or
    a new password ends their sessions; their API keys keep working unless --revoke-keys."""
    new_password = None
    if password:
        new_password = _prompt_password() if sys.stdin.isatty() else users.generate_password()
    _, database = open_database()
    with domain_errors():
        change = accounts.change_user(
            database,
            audit.CLI,
            email,
            role=role,
            disabled=disable,
            password=new_password,
            revoke_api_keys=revoke_keys,
        )
    user = change.user
    state = "disabled" if user.disabled_at else "active"
    out.print(f"user {user.id}: {user.email} ({user.role}, {state})")
    if new_password is not None and not sys.stdin.isatty():
        out.print(f"password (shown once): {new_password}", highlight=False)
    if revoke_keys:
        out.print(f"API keys revoked: {change.api_keys_revoked}")
    elif change.api_keys_active and new_password is not None:
        out.print(
            f"{plural(change.api_keys_active, 'API key')} of this user still "
            f"{'works' if change.api_keys_active == 1 else 'work'}; "
            "add --revoke-keys to revoke them."
        )


JSON_OPTION = typer.Option("--json", help="A JSON array with the API's fields, for scripts.")


@users_app.command("list")
def users_list(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Users, as a table or as JSON."""
    _, database = open_database()
    table = Table("id", "email", "role", "state", "last sign-in")
    with database.read() as session:
        everyone = users.list_users(session)
    if as_json:
        listing.print_json(listing.user(user) for user in everyone)
        return
    for user in everyone:
        table.add_row(
            str(user.id),
            user.email,
            str(user.role),  # read back as a plain str: the column is a String
            "disabled" if user.disabled_at else "active",
            f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never",
        )
    out.print(table)


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. `CI`.")],
    scope: Annotated[
        list[Scope] | None, typer.Option(help="read, send or admin; repeat for several. [read]")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Owner's email; the first admin when left out.")
    ] = None,
) -> None:
    """Create an API key and print it (only this once). Non-interactive, for scripts."""
    _, database = open_database()
    with domain_errors():
        created = accounts.create_key(
            database, audit.CLI, user, name, frozenset(scope or [Scope.READ])
        )
    console.print(
        f"API key {created.key.id} ({created.key.prefix}, {created.key.scopes}) "
        f"for {created.owner.email}; it is shown only now:"
    )
    print(created.secret)


@apikeys_app.command("list")
def apikeys_list(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Everybody's keys (never the keys themselves), as a table or as JSON."""
    _, database = open_database()
    table = Table("id", "prefix", "name", "owner", "scopes", "last used", "state")
    with database.read() as session:
        owners = {u.id: u.email for u in users.list_users(session)}
        keys = api_keys.keys_of(session)
    if as_json:
        listing.print_json(listing.api_key(key) for key in keys)
        return
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.name,
            owners.get(key.user_id, "?"),
            key.scopes,
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            "revoked" if key.revoked_at else "active",
        )
    out.print(table)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: int) -> None:
    """Revoke a key: it stops working at once."""
    _, database = open_database()
    with domain_errors():
        key = accounts.revoke_key(database, audit.CLI, key_id)
    out.print(f"API key {key_id} ({key.prefix}) revoked")


def audit_list(
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. login.failure.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The latest entries of the audit log, newest first."""
    _, database = open_database()
    table = Table("when (UTC)", "who", "action", "target", "from", "detail")
    with database.read() as session:
        for entry in audit.entries(session, action=action, limit=limit):
            table.add_row(
                f"{entry.at:%Y-%m-%d %H:%M:%S}",
                entry.actor,
                entry.action,
                entry.target or "",
                entry.ip or "",
                ", ".join(f"{k}={v}" for k, v in entry.detail.items()),
            )
    out.print(table)
