"""What every command of the command line shares: the error console, the settings, the
database and how a domain error ends a command. Its own module so that the command groups
beside it (campaigns, contacts, accounts...) all import it, and not each other."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

from textcast.config import Settings, SettingsError, load_settings
from textcast.db import Database
from textcast.wording import plural

console = Console(stderr=True)


def command_settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def open_database() -> tuple[Settings, Database]:
    """The settings in effect (the environment's, with those an admin stored over them) and
    the database, brought to the current schema."""
    settings, database = open_environment()
    from textcast.services import settings as settings_services

    return settings_services.current(database, settings).settings, database


def open_environment() -> tuple[Settings, Database]:
    """The environment's settings alone, and the database."""
    from textcast.migrate import ensure_schema

    settings = command_settings()
    database = Database(settings.database_url)
    ensure_schema(database)
    return settings, database


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Bad input and impossible transitions end the command with their message, exit 1."""
    from textcast.domain.errors import DomainError, InvalidInput

    try:
        yield
    except InvalidInput as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem.field}[/]: {problem.message} {problem.value or ''}")
        if exc.unlisted:
            console.print(f"and {plural(exc.unlisted, 'more problem')}")
        raise typer.Exit(1) from None
    except DomainError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
