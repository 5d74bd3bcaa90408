"""`textcast settings …`: show, change and reset the settings an admin may change while
textcast runs (sender, quiet hours, prices, keyword replies, limits).

A change is stored in the database, audited as `cli`, and in effect on every running node
within seconds; the environment keeps giving the initial values.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from textcast.cli.common import console, domain_errors, open_environment
from textcast.domain.accounts import audit

if TYPE_CHECKING:
    from textcast.editable_settings import SettingState

settings_app = typer.Typer(
    help="Settings changed while textcast runs: sender, quiet hours, prices, keyword replies, "
    "limits.",
    no_args_is_help=True,
)
out = Console()


@settings_app.command("show")
def settings_show(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Each setting's value in effect, and where it comes from."""
    from textcast import editable_settings
    from textcast.services import settings as use_cases

    environment, database = open_environment()
    current = use_cases.current(database, environment)
    states = editable_settings.states(environment, current.settings, current.stored)
    if as_json:
        print(json.dumps([_as_json(state) for state in states], indent=2))
        return
    table = Table(title=f"Settings (revision {current.revision})")
    table.add_column("Name")
    table.add_column("Value", overflow="fold")
    table.add_column("From")
    for state in states:
        table.add_row(state.item.name, _shown(state.value), _origin(state))
    out.print(table)


@settings_app.command("set")
def settings_set(
    name: Annotated[str, typer.Argument(help="The setting, e.g. SINCH_NUMBER or SEND_RATE.")],
    value: Annotated[
        str, typer.Argument(help='The value; JSON for QUIET_HOURS_RULES and PRICES ("{}": none).')
    ],
) -> None:
    """Change one setting on every node (over the environment's value)."""
    from textcast import editable_settings
    from textcast.services import settings as use_cases

    environment, database = open_environment()
    with domain_errors():
        item = editable_settings.editable(name)
        current = use_cases.change(
            database, audit.CLI, environment, {item.name: editable_settings.read_text(item, value)}
        )
    shown = _shown(editable_settings.value_of(current.settings, item))
    console.print(f"{item.name} is now {shown} (running nodes take it within seconds)")


@settings_app.command("reset")
def settings_reset(
    name: Annotated[str, typer.Argument(help="The setting, e.g. SINCH_NUMBER.")],
) -> None:
    """Give a setting back to the environment's value (or the default)."""
    from textcast import editable_settings
    from textcast.services import settings as use_cases

    environment, database = open_environment()
    with domain_errors():
        item = editable_settings.editable(name)
        current = use_cases.reset(database, audit.CLI, environment, item.name)
    states = editable_settings.states(environment, current.settings, current.stored)
    state = next(s for s in states if s.item.name == item.name)
    console.print(f"{item.name} is now {_shown(state.value)}, from the {state.source}")


def _as_json(state: SettingState) -> dict[str, Any]:
    return {
        "name": state.item.name,
        "group": state.item.group.value,
        "value": state.value,
        "source": state.source,
        "changed_by": state.changed_by,
        "changed_at": state.changed_at.isoformat() if state.changed_at else None,
    }


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    return value if isinstance(value, str) else json.dumps(value)


def _origin(state: SettingState) -> str:
    if state.source == "dashboard":
        return f"dashboard: {state.changed_by}, {state.changed_at:%Y-%m-%d %H:%M} UTC"
    return state.source
