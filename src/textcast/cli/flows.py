"""`textcast flows …`: automations listed, shown step by step with their figures, created
from a template or a JSON file, published, paused, resumed, archived; who is where in one.

The command line runs no flow engine: runs a command starts or wakes move on when the worker
(`textcast worker` or `serve`) next looks, within seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from textcast.cli.common import console, domain_errors, open_database
from textcast.models import RunStatus
from textcast.wording import moment

if TYPE_CHECKING:
    from textcast.services.flows import FlowView

flows_app = typer.Typer(
    help="Automated flows: triggers, waits, branches and texts.", no_args_is_help=True
)

FlowId = Annotated[int, typer.Argument(help="The flow's id (see `textcast flows list`).")]
STEP_COLUMNS = (
    "entered",
    "waiting",
    "sent",
    "skipped",
    "delivered",
    "clicked",
    "replied",
    "yes",
    "no",
    "exited",
    "goal",
    "stopped",
)


@flows_app.command("list")
def flows_list(
    archived: Annotated[bool, typer.Option("--archived", help="Include archived flows.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array with the API's fields, for scripts.")
    ] = False,
) -> None:
    """Flows, newest first, with their status and runs."""
    from textcast.cli import listing
    from textcast.domain import flows

    _, database = open_database()
    with database.read() as session:
        rows = flows.list_flow_rows(session, archived=archived)
    if as_json:
        listing.print_json(listing.flow(row) for row in rows)
        return
    table = Table("id", "name", "status", "trigger", "version", "active", "ended", "updated")
    for row in rows:
        f = row.flow
        trigger = f.trigger_type + (f" {f.trigger_key}" if f.trigger_key else "")
        ended = sum(row.runs.values()) - row.active
        table.add_row(
            str(f.id),
            escape(f.name),
            f.status,
            escape(trigger),
            str(row.version) if row.version is not None else "draft",
            f"{row.active:,}",
            f"{ended:,}",
            moment(f.updated_at),
        )
    Console().print(table)


@flows_app.command("show")
def flows_show(flow_id: FlowId) -> None:
    """A flow: its trigger, rules and versions, and each step with what it did."""
    from textcast.services import flows as use_cases

    _, database = open_database()
    with domain_errors():
        view = use_cases.view(database, flow_id)
    out = Console()
    out.print(_summary(view))
    out.print(_steps(view))


def _summary(view: FlowView) -> Table:
    flow, definition = view.flow, view.definition
    trigger = definition.get("trigger") or {}
    kind = trigger.get("type", "?")
    # `event cart_abandoned`, `keyword VIP`, `date attribute birthday, time 10:00`
    said = ", ".join(
        f"{'' if k == kind else k} {v}".strip() for k, v in trigger.items() if k != "type"
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_row("flow", f"{flow.id}: {escape(flow.name)}")
    grid.add_row("status", flow.status)
    grid.add_row("trigger", escape(f"{kind} {said}".strip()))
    reentry = definition.get("reentry", "once")
    if definition.get("cooldown"):
        reentry += f" (cooldown {definition['cooldown']})"
    grid.add_row("re-entry", reentry)
    grid.add_row("goal", escape(definition.get("goal") or "none"))
    if definition.get("create_contacts"):
        grid.add_row("creates contacts", "yes, for events of unknown numbers")
    versions = ", ".join(
        f"{v.number}{' (current)' if v.id == flow.version_id else ''}" for v in view.versions
    )
    grid.add_row("versions", versions or "none: a draft")
    runs = ", ".join(f"{status} {n:,}" for status, n in view.figures.runs.items() if n)
    grid.add_row("runs", runs or "none yet")
    return grid


def _steps(view: FlowView) -> Table:
    """Each step of the definition in order (indented inside branches), then older versions'
    steps that still have figures."""
    table = Table("step", "type", title="steps")
    for column in STEP_COLUMNS:
        table.add_column(column, justify="right")
    figures = view.figures.steps
    shown = set()
    for depth, step in _walk(view.definition.get("steps") or [], 0):
        step_id = str(step.get("id", "?"))
        shown.add(step_id)
        one = figures.get(step_id)
        counts = one.to_json() if one is not None else {}
        table.add_row(
            "  " * depth + escape(step_id),
            _what(step),
            *(f"{counts.get(column, 0):,}" for column in STEP_COLUMNS),
        )
    for step_id, one in figures.items():
        if step_id not in shown:
            counts = one.to_json()
            table.add_row(
                escape(step_id),
                "[dim](older version)",
                *(f"{counts[column]:,}" for column in STEP_COLUMNS),
            )
    return table


def _walk(steps: list[Any], depth: int) -> list[tuple[int, dict[str, Any]]]:
    found: list[tuple[int, dict[str, Any]]] = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        found.append((depth, step))
        for column in ("yes", "no"):
            if step.get(column):
                found += _walk(step[column], depth + 1)
    return found


def _what(step: dict[str, Any]) -> str:
    kind = str(step.get("type", "?"))
    if kind == "wait":
        for key in ("for", "until_time", "until_date", "until_event"):
            if key in step:
                return escape(f"wait {key.replace('_', ' ')} {step[key]}")
    if kind == "branch":
        condition = step.get("if") or {}
        return escape(f"branch if {condition.get('kind', '?')} {condition.get('name') or ''}")
    return kind


@flows_app.command("templates")
def flows_templates() -> None:
    """Flows to start from (`textcast flows create --template KEY`)."""
    from textcast.domain import flows

    table = Table("key", "name", "what it does")
    for one in flows.TEMPLATES:
        table.add_row(one.key, one.name, one.summary)
    Console().print(table)


@flows_app.command("create")
def flows_create(
    template: Annotated[
        str | None, typer.Option(help="Start from this template (see `flows templates`).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="A JSON file holding the definition."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Default: the template's name, or the file's.")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Live at once (with --file); else a draft.")
    ] = False,
) -> None:
    """Create a flow, a draft unless --publish: from a template or a definition file."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import flows as use_cases
    from textcast.services.keywords import keyword_settings

    if (template is None) == (file is None):
        console.print("[bold red]error:[/] give --template KEY or --file definition.json")
        raise typer.Exit(2)
    if template is not None and publish:
        console.print(
            "[red]--publish[/]: a flow from a template starts as a draft: change it, then "
            "`textcast flows publish ID`"
        )
        raise typer.Exit(2)
    settings, database = open_database()
    with domain_errors():
        if template is not None:
            changed = use_cases.create_from_template(database, CLI, template, name)
        else:
            assert file is not None
            definition = _read_definition(file)
            changed = use_cases.create(
                database,
                CLI,
                name or file.stem,
                definition,
                publish=publish,
                reserved_words=keyword_settings(settings).reserved,
            )
    state = f"live as version {changed.version.number}" if changed.version else "a draft"
    console.print(f"flow {changed.flow.id}: {changed.flow.name!r}, {state}")


def _read_definition(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        console.print(f"[red]--file[/]: {escape(path.name)} is not JSON: {escape(str(exc))}")
        raise typer.Exit(1) from None


@flows_app.command("publish")
def flows_publish(flow_id: FlowId) -> None:
    """A draft goes live as version 1: its trigger starts runs."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import flows as use_cases
    from textcast.services.keywords import keyword_settings

    settings, database = open_database()
    with domain_errors():
        reserved = keyword_settings(settings).reserved
        changed = use_cases.publish(database, CLI, flow_id, reserved)
    console.print(
        f"flow {flow_id}: live as version {changed.version.number if changed.version else 1}"
    )


@flows_app.command("pause")
def flows_pause(flow_id: FlowId) -> None:
    """Nothing enters and no run moves on until it resumes."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import flows as use_cases

    _, database = open_database()
    with domain_errors():
        use_cases.pause(database, CLI, flow_id)
    console.print(f"flow {flow_id}: paused")


@flows_app.command("resume")
def flows_resume(flow_id: FlowId) -> None:
    """Live again: runs whose wait ended meanwhile move on at once."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import flows as use_cases

    _, database = open_database()
    with domain_errors():
        use_cases.resume(database, CLI, flow_id)
    console.print(f"flow {flow_id}: live")


@flows_app.command("archive")
def flows_archive(flow_id: FlowId) -> None:
    """Stopped for good: its runs in progress end; its figures stay."""
    from textcast.domain.accounts.audit import CLI
    from textcast.services import flows as use_cases

    _, database = open_database()
    with domain_errors():
        ended = use_cases.archive(database, CLI, flow_id)
    console.print(f"flow {flow_id}: archived; {ended:,} runs in progress ended")


@flows_app.command("runs")
def flows_runs(
    flow_id: FlowId,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    step: Annotated[str | None, typer.Option(help="Only active runs at this step id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
) -> None:
    """The flow's runs, newest first: who is where."""
    from textcast.domain import flows

    _, database = open_database()
    with domain_errors(), database.read() as session:
        flows.get_flow(session, flow_id)
        if step is not None and status is None:
            status = RunStatus.ACTIVE
        rows = flows.list_runs(session, flow_id=flow_id, status=status, position=step, limit=limit)
    table = Table("run", "contact", "phone", "version", "status", "where", "next", "started")
    for run in rows:
        where = run.position or run.end_reason or ""
        if run.waiting_for:
            nxt = f"{run.waiting_for} or {moment(run.wake_at)}" if run.wake_at else run.waiting_for
        else:
            nxt = moment(run.wake_at) if run.wake_at else ""
        table.add_row(
            str(run.id),
            str(run.contact_id),
            run.phone,
            str(run.version),
            run.status,
            escape(where),
            escape(nxt),
            moment(run.started_at),
        )
    Console().print(table)
