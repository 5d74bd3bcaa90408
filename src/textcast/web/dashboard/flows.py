"""/flows: the automations with their runs; /flows/{id}: the builder, with each step's figures.

Unlike the other pages, the builder saves through plain HTML forms posted here (with the
session's CSRF token in a field), so that it works without its script: the definition is the
JSON in a textarea, which `static/flow_builder.js` turns into a list of steps edited in place
and writes back before the form is sent. Each post calls one use case of `services.flows`;
a refused one shows the page again with the problems next to the steps they name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from textcast.domain import flows
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.audience import lists, segments
from textcast.domain.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from textcast.models import Flow, FlowStatus
from textcast.runtime import Runtime
from textcast.services import flows as flow_cases
from textcast.web.auth import check_csrf, client_ip
from textcast.web.dashboard.campaign_editor import counting_tables
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)

MAX_DEFINITION_CHARS = 200_000
MAX_FIELD_CHARS = 300
RECENT_RUNS = 50

BLANK = {
    "trigger": {"type": "subscribed"},
    "reentry": "once",
    "steps": [{"id": "s1", "type": "send", "body": "Hello! Reply STOP to opt out."}],
}
"""What "blank" starts from: the smallest flow that can be saved (one text on sign-up)."""

RUN_WORDS = {
    "active": "in progress",
    "completed": "completed",
    "exited": "exited",
    "goal": "reached the goal",
    "stopped": "stopped (the number opted out)",
    "cancelled": "cancelled",
}
STEP_WORDS = {
    "send": "Send a text",
    "wait": "Wait",
    "branch": "Branch",
    "update": "Update the contact",
    "exit": "Exit",
}
FIGURES = (
    ("entered", "entered"),
    ("waiting", "waiting"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("clicked", "clicked"),
    ("replied", "replied"),
    ("exited", "exited"),
    ("goal", "reached the goal"),
)
"""The per-step numbers, in the order the builder and its table show them."""

Csrf = Annotated[str, Form(max_length=MAX_FIELD_CHARS)]


# -- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowRow:
    flow: Flow
    trigger: str
    figures: flows.FlowFigures


@router.get("/flows", response_class=HTMLResponse)
def flows_page(
    request: Request, principal: PageUser, runtime: RuntimeDep, archived: bool = False
) -> Response:
    with runtime.database.read() as session:
        names = _names(session)
        rows = [
            FlowRow(
                flow,
                describe_trigger(flows.current_definition_json(session, flow), names),
                flows.flow_figures(session, flow.id),
            )
            for flow in flows.list_flows(session, archived=archived)
        ]
    return render(
        request,
        "flows.html",
        principal,
        rows=rows,
        archived=archived,
        templates=flows.TEMPLATES,
        run_words=RUN_WORDS,
    )


@router.get("/flows/{flow_id:int}", response_class=HTMLResponse)
def flow_page(request: Request, principal: PageUser, runtime: RuntimeDep, flow_id: int) -> Response:
    return _builder(request, principal, runtime, page_id(flow_id, "flow"))


@router.post("/flows", response_class=HTMLResponse)
def create_flow(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    csrf_token: Csrf = "",
    template: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "blank",
    name: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "",
) -> Response:
    """A draft from a template (or blank), opened in the builder."""
    _allowed(principal, csrf_token, Permission.WRITE)
    actor = _actor(request, principal)
    if template == "blank":
        changed = flow_cases.create(runtime.database, actor, name.strip() or "New flow", BLANK)
    else:
        changed = flow_cases.create_from_template(
            runtime.database, actor, template, name.strip() or None
        )
    return RedirectResponse(f"/flows/{changed.flow.id}", status_code=303)


@router.post("/flows/{flow_id:int}", response_class=HTMLResponse)
def save_flow(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    flow_id: int,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "",
    definition: Annotated[str, Form(max_length=MAX_DEFINITION_CHARS)] = "",
    move_runs: Annotated[bool, Form()] = False,
    confirm_move: Annotated[bool, Form()] = False,
) -> Response:
    """Save the builder: a draft keeps the change; a published flow gets a new version, and
    with "move runs" (once their landings were shown and confirmed) its runs move onto it."""
    _allowed(principal, csrf_token, Permission.WRITE)
    flow_id = page_id(flow_id, "flow")
    submitted = Submitted(name, definition, move_runs)
    try:
        data = _parse(definition)
        if move_runs and not confirm_move:
            landings = flow_cases.preview_edit(runtime.database, flow_id, data)
            return _builder(request, principal, runtime, flow_id, submitted, landings=landings)
        flow_cases.edit(
            runtime.database,
            _actor(request, principal),
            flow_id,
            name=name,
            definition=data,
            move_runs=move_runs,
        )
    except InvalidInput as refused:
        return _builder(request, principal, runtime, flow_id, submitted, refused, 422)
    except Conflict as refused:
        return _builder(request, principal, runtime, flow_id, submitted, refused, 409)
    runtime.wake_flows()
    return RedirectResponse(f"/flows/{flow_id}?saved=1", status_code=303)


ACTIONS = {
    "publish": Permission.SEND,
    "pause": Permission.SEND,
    "resume": Permission.SEND,
    "move": Permission.SEND,
    "archive": Permission.WRITE,
    "delete": Permission.WRITE,
}


@router.post("/flows/{flow_id:int}/{action}", response_class=HTMLResponse)
def flow_action(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    flow_id: int,
    action: str,
    csrf_token: Csrf = "",
) -> Response:
    """Publish, pause, resume, move the runs of older versions, archive or delete."""
    needed = ACTIONS.get(action)
    flow_id = page_id(flow_id, "flow")
    if needed is None:
        raise NotFound("flow action", action)
    _allowed(principal, csrf_token, needed)
    actor = _actor(request, principal)
    database = runtime.database
    try:
        if action == "publish":
            flow_cases.publish(database, actor, flow_id)
        elif action == "pause":
            flow_cases.pause(database, actor, flow_id)
        elif action == "resume":
            flow_cases.resume(database, actor, flow_id)
        elif action == "move":
            flow_cases.move(database, actor, flow_id)
        elif action == "archive":
            flow_cases.archive(database, actor, flow_id)
        else:
            flow_cases.delete(database, actor, flow_id)
            return RedirectResponse("/flows?deleted=1", status_code=303)
    except InvalidInput as refused:
        return _builder(request, principal, runtime, flow_id, None, refused, 422)
    except Conflict as refused:
        return _builder(request, principal, runtime, flow_id, None, refused, 409)
    runtime.wake_flows()
    return RedirectResponse(f"/flows/{flow_id}?done={action}", status_code=303)


# -- the builder ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a refused or previewed save sent: shown again as it was typed."""

    name: str
    definition: str
    move_runs: bool


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step in the builder's table (the page without its script): where, what, figures."""

    path: str
    depth: int
    column: str
    step: Mapping[str, Any]
    words: str
    figures: flows.StepFigures | None


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str
    step: str | None
    """The path of the step it names (`steps[2].yes[0]`), or None for the flow's rules."""
    words: str
    """Where, as a marketer reads it: `Step 3 (send, reminder)`, `Trigger`, ..."""

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "step": self.step}


def _builder(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    flow_id: int,
    submitted: Submitted | None = None,
    refused: Exception | None = None,
    status_code: int = 200,
    *,
    landings: list[flows.Landing] | None = None,
) -> Response:
    shown = flow_cases.view(runtime.database, flow_id)
    flow = shown.flow
    with runtime.database.read() as session:
        names = _names(session)
        fields = sorted(flow_cases.known_attributes(session))
        runs = flows.list_runs(session, flow_id=flow_id, limit=RECENT_RUNS)
        older = (
            flows.move_runs(session, flow_id)
            if flow.version_id is not None and flow.status != FlowStatus.ARCHIVED
            else []
        )
    text = submitted.definition if submitted else json.dumps(shown.definition, indent=2)
    data = _loads(text)
    problems = _problems(refused, data)
    rows = list(_step_rows(data, shown.figures, names))
    return render(
        request,
        "flow.html",
        principal,
        status_code,
        flow=flow,
        view=shown,
        flow_name=submitted.name if submitted else flow.name,
        definition=text,
        move_runs=submitted.move_runs if submitted else False,
        trigger=describe_trigger(data, names),
        rows=rows,
        problems=problems,
        conflict=str(refused) if isinstance(refused, Conflict) else None,
        landings=landings,
        older=older,
        runs=runs,
        run_words=RUN_WORDS,
        figure_names=FIGURES,
        builder={
            "figures": {key: one.to_json() for key, one in shown.figures.steps.items()},
            "figureNames": FIGURES,
            "problems": [problem.to_json() for problem in problems],
            "fields": fields,
            "lists": [{"id": key, "name": value} for key, value in names["lists"].items()],
            "segments": [{"id": key, "name": value} for key, value in names["segments"].items()],
        },
        counting=counting_tables(),
        saved=request.query_params.get("saved") == "1",
        done=request.query_params.get("done"),
        editable=flow.status != FlowStatus.ARCHIVED and principal.can(Permission.WRITE),
    )


def _parse(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [FieldProblem("definition", f"is not valid JSON ({exc.msg} at line {exc.lineno})")]
        ) from None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _problems(refused: Exception | None, data: Any) -> list[Problem]:
    if not isinstance(refused, InvalidInput):
        return []
    paths = {row_path for row_path, _, _, _ in _walk(data)}
    found = []
    for problem in refused.problems:
        step = _step_of(problem.field, paths)
        found.append(
            Problem(problem.field, problem.message, step, _where(problem.field, step, data))
        )
    return found


_STEP_PATH = re.compile(r"steps\[\d+\](?:\.(?:yes|no)\[\d+\])*")


def _step_of(field: str, paths: set[str]) -> str | None:
    """The deepest step a problem's field is inside of: `steps[2].yes[0].body` is in
    `steps[2].yes[0]`."""
    match = _STEP_PATH.match(field)
    if match is None:
        return None
    path = match.group(0)
    while path and path not in paths:
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return path or None


def _where(field: str, step: str | None, data: Any) -> str:
    if step is None:
        head = field.split(".", 1)[0].split("[", 1)[0]
        return {
            "trigger": "Trigger",
            "reentry": "Re-entry",
            "cooldown": "Cooldown",
            "goal": "Goal",
            "create_contacts": "New contacts",
            "name": "Name",
            "steps": "Steps",
        }.get(head, "Definition")
    for path, _, _, found in _walk(data):
        if path == step:
            number = 1 + [p for p, _, _, _ in _walk(data)].index(path)
            kind = str(found.get("type", "step"))
            ident = found.get("id")
            return f"Step {number} ({kind}{', ' + str(ident) if ident else ''})"
    return "Steps"


def _walk(
    data: Any, steps: Any = None, path: str = "steps", depth: int = 0, column: str = ""
) -> Iterator[tuple[str, int, str, Mapping[str, Any]]]:
    """Every step of the definition JSON, depth first (as `Definition.walk`), with its path."""
    column_steps = data.get("steps") if steps is None and isinstance(data, Mapping) else steps
    if not isinstance(column_steps, list):
        return
    for index, step in enumerate(column_steps):
        if not isinstance(step, Mapping):
            continue
        here = f"{path}[{index}]"
        yield here, depth, column, step
        if step.get("type") == "branch":
            yield from _walk(data, step.get("yes"), f"{here}.yes", depth + 1, "yes")
            yield from _walk(data, step.get("no"), f"{here}.no", depth + 1, "no")


def _step_rows(
    data: Any, figures: flows.FlowFigures, names: Mapping[str, Mapping[int, str]]
) -> Iterator[StepRow]:
    for path, depth, column, step in _walk(data):
        ident = step.get("id")
        yield StepRow(
            path,
            depth,
            column,
            step,
            describe_step(step, names),
            figures.steps.get(ident) if isinstance(ident, str) else None,
        )


# -- words ---------------------------------------------------------------------------------


def _names(session: Any) -> dict[str, dict[int, str]]:
    return {
        "lists": {found.id: found.name for found, _ in lists.list_lists(session)},
        "segments": {found.id: found.name for found in segments.list_segments(session)},
    }


def _named(names: Mapping[int, str], value: Any, what: str) -> str:
    try:
        return f"{what} {names[int(value)]}"
    except (KeyError, TypeError, ValueError):
        return f"{what} {value}"


def describe_trigger(data: Any, names: Mapping[str, Mapping[int, str]]) -> str:
    """What starts the flow, in words: "Someone posts the event cart_abandoned"."""
    trigger = data.get("trigger") if isinstance(data, Mapping) else None
    if not isinstance(trigger, Mapping):
        return "No trigger yet"
    kind = trigger.get("type")
    if kind == "subscribed":
        if trigger.get("list_id") is None:
            return "Someone subscribes"
        return "Someone subscribes to " + _named(names["lists"], trigger["list_id"], "the list")
    if kind == "keyword":
        return f"A subscriber texts {str(trigger.get('keyword', '')).upper()}"
    if kind == "event":
        return f"Your shop or app posts the event {trigger.get('event')}"
    if kind == "date":
        return (
            f"On the date in each contact's {trigger.get('attribute')}, at "
            f"{trigger.get('time', '10:00')} their time"
        )
    if kind == "segment":
        return "A contact enters " + _named(
            names["segments"], trigger.get("segment_id"), "the segment"
        )
    return f"Unknown trigger {kind}"


def describe_step(step: Mapping[str, Any], names: Mapping[str, Mapping[int, str]]) -> str:
    kind = step.get("type")
    if kind == "send":
        return str(step.get("body", ""))
    if kind == "wait":
        if "for" in step:
            return f"for {step['for']}"
        if "until_time" in step:
            return f"until {step['until_time']}, the contact's time"
        if "until_date" in step:
            return f"until the date in {step['until_date']}, at {step.get('time', '09:00')}"
        return f"until the event {step.get('until_event')}, at most {step.get('timeout')}"
    if kind == "branch":
        return "if " + describe_condition(step.get("if"), names)
    if kind == "update":
        said = [f"set {key} to {value}" for key, value in dict(step.get("set") or {}).items()]
        if step.get("add_to_list") is not None:
            said.append("add to " + _named(names["lists"], step["add_to_list"], "the list"))
        if step.get("remove_from_list") is not None:
            said.append(
                "remove from " + _named(names["lists"], step["remove_from_list"], "the list")
            )
        return "; ".join(said)
    if kind == "exit":
        return "the run ends here"
    return ""


def describe_condition(condition: Any, names: Mapping[str, Mapping[int, str]]) -> str:
    if not isinstance(condition, Mapping):
        return "?"
    kind = condition.get("kind")
    if kind in ("attribute", "event"):
        what = "the contact's" if kind == "attribute" else "the event's"
        op = str(condition.get("op", "equals")).replace("_", " ")
        value = "" if condition.get("value") is None else f" {condition['value']}"
        return f"{what} {condition.get('name')} {op}{value}"
    if kind == "segment":
        return "in " + _named(names["segments"], condition.get("segment_id"), "the segment")
    if kind == "list":
        return "on " + _named(names["lists"], condition.get("list_id"), "the list")
    if kind in ("replied", "clicked"):
        return f"{kind} within {condition.get('within', '1d')}"
    if kind == "arrived":
        return "the awaited event arrived"
    return str(kind)


# -- plumbing ------------------------------------------------------------------------------


def _allowed(principal: Principal, csrf_token: str, permission: Permission) -> None:
    check_csrf(principal, csrf_token, "the csrf_token field")
    if not principal.can(permission):
        raise Forbidden(f"this needs the {permission.value} permission")


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.actor, principal.user_id, client_ip(request))
