"""`/api/v1/flows`: automations built, published, edited into versions, paused, archived;
their per-step figures, their runs and each run's history; and a contact's runs.

Viewers read; editors write (create, change, delete) and start or stop sending (publish,
pause, resume, archive, move runs). Whatever starts or wakes runs wakes the flow engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain import flows
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import contacts
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import Flow, FlowRunStep, FlowVersion, RunStatus
from textcast.runtime import Runtime
from textcast.services import flows as flow_services
from textcast.services.keywords import keyword_settings
from textcast.web.api import path_segments  # noqa: F401 - {flow_id:flow_id} below
from textcast.web.api.ids import Id
from textcast.web.api.inputs import Input, NoNul
from textcast.web.auth import Sender, Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep
from textcast.web.errors import problems

router = APIRouter(tags=["flows"], dependencies=[guard(Permission.READ)])

FLOWS = "/api/v1/flows"
NAME_BOUND = 1_000
"""Longer than the domain's limit, so that its answer says what the limit is."""

_EXAMPLE_DEFINITION: dict[str, Any] = flows.template("abandoned_cart").definition
DEFINITION = (
    "The flow as JSON: `trigger` (subscribed [list_id], keyword, event, date [attribute, "
    "time], segment [segment_id]), `reentry` (once, always, cooldown with `cooldown`), "
    "`goal` (an event name that ends a run), `create_contacts` (an event for an unknown "
    "number creates the contact), `steps` (send, wait, branch with `yes`/`no`, update, "
    "exit). Refused, each problem named: a step after an exit (never reached), a wait for "
    "an event without a timeout (never ends), a branch on an attribute no contact has, a "
    "list or segment that does not exist."
)


class FlowIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Abandoned cart", "definition": _EXAMPLE_DEFINITION, "publish": True},
                {"template": "abandoned_cart"},
            ]
        },
    )

    name: Annotated[str | None, Field(max_length=NAME_BOUND)] = Field(
        default=None, description="Needed with a definition; a template's name by default."
    )
    definition: dict[str, Any] | None = Field(default=None, description=DEFINITION)
    publish: bool = Field(
        default=False, strict=True, description="Live at once (version 1); else a draft."
    )
    template: Annotated[str | None, Field(max_length=100)] = Field(
        default=None,
        description="Start from a template (`GET /api/v1/flows/templates`) as a draft, "
        "instead of a definition.",
    )


class FlowPatch(Input):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(max_length=NAME_BOUND)] = None
    definition: dict[str, Any] | None = Field(
        default=None,
        description="The whole new definition. A published flow gets a new version at once; "
        "runs in progress keep theirs unless `move_runs`.",
    )
    move_runs: bool = Field(
        default=False,
        strict=True,
        description="Move runs in progress onto the new version (see `move-preview`).",
    )


class FlowSummaryOut(BaseModel):
    id: int
    name: str
    status: str = Field(description="draft, live, paused or archived.")
    trigger_type: str
    trigger_key: str | None = Field(
        description="The list id, keyword, event name, date attribute or segment id."
    )
    goal_event: str | None
    version: int | None = Field(description="The version new runs start on; null: a draft.")
    runs: dict[str, int] = Field(description="Runs by status, zeros included.")
    active_runs: int
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime

    @classmethod
    def of(cls, flow: Flow, version: int | None, runs: dict[str, int]) -> FlowSummaryOut:
        return cls(
            id=flow.id,
            name=flow.name,
            status=flow.status,
            trigger_type=flow.trigger_type,
            trigger_key=flow.trigger_key,
            goal_event=flow.goal_event,
            version=version,
            runs=runs,
            active_runs=runs.get(str(RunStatus.ACTIVE), 0),
            created_at=flow.created_at,
            updated_at=flow.updated_at,
            status_changed_at=flow.status_changed_at,
        )


class VersionOut(BaseModel):
    number: int
    published_at: datetime
    current: bool = Field(description="The version new runs start on.")


class StepFiguresOut(BaseModel):
    step_id: str
    entered: int = Field(description="Runs that reached the step.")
    waiting: int = Field(description="Runs resting in it now.")
    sent: int
    skipped: int
    delivered: int
    clicked: int
    replied: int
    exited: int
    goal: int = Field(description="Runs the goal event ended while here.")
    stopped: int = Field(description="Runs a STOP ended while here.")
    yes: int
    no: int


class FlowFiguresOut(BaseModel):
    runs: dict[str, int]
    started: int
    steps: dict[str, StepFiguresOut] = Field(
        description="By step id: the current version's steps, and older ones with runs."
    )


class FlowOut(FlowSummaryOut):
    definition: dict[str, Any] = Field(description="The draft, or the current version's.")
    versions: list[VersionOut] = Field(description="Newest first.")
    figures: FlowFiguresOut


class ArchivedOut(FlowOut):
    runs_ended: int = Field(description="Runs in progress that archiving ended.")


class TemplateOut(BaseModel):
    key: str
    name: str
    summary: str
    definition: dict[str, Any]


class LandingOut(BaseModel):
    version: int = Field(description="The older version the runs are on.")
    step_id: str
    waiting: bool
    runs: int
    lands_on: str | None = Field(
        description="The current version's step they go to; null: nothing is left after "
        "their step, so they end (completed)."
    )


class MoveOut(BaseModel):
    landings: list[LandingOut]
    runs: int = Field(description="Runs on older versions, in all.")


class DeletedOut(BaseModel):
    id: int
    name: str


class RunOut(BaseModel):
    id: int
    flow_id: int
    flow_name: str
    version: int
    contact_id: int
    phone: str
    status: str = Field(description="active, completed, exited, goal, stopped or cancelled.")
    position: str | None = Field(description="The step an active run is at.")
    step_type: str | None
    waiting: bool
    waiting_for: str | None = Field(description="The event a wait step waits for.")
    wake_at: datetime | None = Field(description="When the engine next moves it on.")
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    @classmethod
    def of(cls, run: flows.RunView) -> RunOut:
        return cls.model_validate(run, from_attributes=True)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for older runs; null at the end.")


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_id: str
    outcome: str = Field(
        description="sent, skipped, held, waiting, passed, yes, no, updated, exited, "
        "completed, goal, stopped..."
    )
    detail: str | None
    message_id: int | None
    at: datetime


class RunDetailOut(RunOut):
    history: list[HistoryOut] = Field(description="The steps it reached, in order.")

    @classmethod
    def with_history(cls, run: flows.RunView, history: list[FlowRunStep]) -> RunDetailOut:
        return cls(
            **RunOut.of(run).model_dump(),
            history=[HistoryOut.model_validate(row) for row in history],
        )


Cursor = Annotated[Id | None, Query(description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=200)]


def _flow_out(view: flow_services.FlowView) -> FlowOut:
    summary = FlowSummaryOut.of(view.flow, view.version, view.figures.runs)
    current = view.flow.version_id
    return FlowOut(
        **summary.model_dump(),
        definition=view.definition,
        versions=[_version_out(v, current) for v in view.versions],
        figures=FlowFiguresOut.model_validate(view.figures.to_json()),
    )


def _version_out(version: FlowVersion, current: int | None) -> VersionOut:
    return VersionOut(
        number=version.number, published_at=version.published_at, current=version.id == current
    )


def _reserved(runtime: Runtime) -> dict[str, str]:
    """The words the settings in effect give a meaning (STOP, HELP, Y...): no flow's keyword."""
    return keyword_settings(runtime.settings).reserved


def _moved(landings: list[flows.Landing]) -> MoveOut:
    return MoveOut(
        landings=[LandingOut.model_validate(one, from_attributes=True) for one in landings],
        runs=sum(one.runs for one in landings),
    )


@router.get(FLOWS)
def list_flows(
    session: ReadSession,
    archived: Annotated[bool, Query(description="Include archived flows.")] = False,
) -> list[FlowSummaryOut]:
    """Flows, newest first, with their status and their runs by status."""
    return [
        FlowSummaryOut.of(row.flow, row.version, row.runs)
        for row in flows.list_flow_rows(session, archived=archived)
    ]


@router.post(FLOWS, status_code=status.HTTP_201_CREATED)
def create_flow(payload: FlowIn, runtime: RuntimeDep, principal: Writer) -> FlowOut:
    """A flow from a definition (a draft, or live with `publish`), or a draft copy of a
    template. 400 names every problem of the definition and where it is."""
    actor = Actor.of(principal)
    keys = [t.key for t in flows.TEMPLATES]
    if payload.template is not None and payload.template not in keys:
        raise InvalidInput(
            [
                FieldProblem(
                    "template",
                    f"there is no template {payload.template!r}; use one of: {', '.join(keys)}",
                )
            ]
        )
    if payload.template is not None:
        clashes = [name for name in ("definition", "publish") if name in payload.model_fields_set]
        if clashes:
            raise InvalidInput(
                [
                    FieldProblem(
                        name,
                        "a flow from a template starts as a draft: leave this out, change "
                        "the draft, then publish it",
                    )
                    for name in clashes
                ]
            )
        changed = flow_services.create_from_template(
            runtime.database, actor, payload.template, payload.name
        )
    elif payload.definition is None:
        raise InvalidInput(
            [
                FieldProblem(
                    "definition",
                    "give a definition, or a template to start from (GET /api/v1/flows/templates)",
                )
            ]
        )
    else:
        changed = flow_services.create(
            runtime.database,
            actor,
            payload.name or "",
            payload.definition,
            publish=payload.publish,
            reserved_words=_reserved(runtime),
        )
        if changed.version is not None:
            runtime.wake_flows()
    return _flow_out(flow_services.view(runtime.database, changed.flow.id))


@router.get(f"{FLOWS}/templates")
def list_templates() -> list[TemplateOut]:
    """Flows to start from: a welcome series, an abandoned cart, a birthday, a win-back."""
    return [TemplateOut.model_validate(t.to_json()) for t in flows.TEMPLATES]


@router.get(f"{FLOWS}/{{flow_id:flow_id}}")
def get_flow(flow_id: Id, database: DatabaseDep) -> FlowOut:
    """The flow, its definition, its versions and its figures step by step."""
    return _flow_out(flow_services.view(database, flow_id))


@router.patch(f"{FLOWS}/{{flow_id:flow_id}}", responses=problems(409))
def update_flow(flow_id: Id, payload: FlowPatch, runtime: RuntimeDep, principal: Writer) -> FlowOut:
    """Rename, or replace the definition (checked as a new one's). A published flow gets a
    new version at once; with `move_runs` its runs in progress move onto it. 409 for an
    archived flow."""
    changed = flow_services.edit(
        runtime.database,
        Actor.of(principal),
        flow_id,
        name=payload.name,
        definition=payload.definition,
        move_runs=payload.move_runs,
        reserved_words=_reserved(runtime),
    )
    if changed.version is not None and payload.move_runs:
        runtime.wake_flows()
    return _flow_out(flow_services.view(runtime.database, flow_id))


@router.delete(f"{FLOWS}/{{flow_id:flow_id}}", responses=problems(409))
def delete_flow(flow_id: Id, database: DatabaseDep, principal: Writer) -> DeletedOut:
    """Delete a flow nothing has run through. 409 when it has runs: archive it instead, so
    its figures and each contact's history stay."""
    name = flow_services.delete(database, Actor.of(principal), flow_id)
    return DeletedOut(id=flow_id, name=name)


@router.get(f"{FLOWS}/{{flow_id:flow_id}}/move-preview", responses=problems(409))
def preview_move(flow_id: Id, database: DatabaseDep) -> MoveOut:
    """Where the runs on older versions would land on the current one; nothing changes.
    409 for a flow never published."""
    return _moved(flow_services.preview_move(database, flow_id))


@router.post(f"{FLOWS}/{{flow_id:flow_id}}/move-runs", responses=problems(409))
def move_runs(flow_id: Id, runtime: RuntimeDep, principal: Sender) -> MoveOut:
    """Move the runs on older versions onto the current one, as the preview says."""
    moved = flow_services.move(runtime.database, Actor.of(principal), flow_id)
    runtime.wake_flows()
    return _moved(moved)


@router.post(f"{FLOWS}/{{flow_id:flow_id}}/publish", responses=problems(409))
def publish_flow(flow_id: Id, runtime: RuntimeDep, principal: Sender) -> FlowOut:
    """A draft goes live as version 1: its trigger starts runs. Checked again (a template's
    attributes must exist by now). 409 unless a draft."""
    flow_services.publish(runtime.database, Actor.of(principal), flow_id, _reserved(runtime))
    runtime.wake_flows()
    return _flow_out(flow_services.view(runtime.database, flow_id))


@router.post(f"{FLOWS}/{{flow_id:flow_id}}/pause", responses=problems(409))
def pause_flow(flow_id: Id, runtime: RuntimeDep, principal: Sender) -> FlowOut:
    """Nothing enters and no run moves on; texts already in the outbox still go. 409 unless
    live."""
    flow_services.pause(runtime.database, Actor.of(principal), flow_id)
    return _flow_out(flow_services.view(runtime.database, flow_id))


@router.post(f"{FLOWS}/{{flow_id:flow_id}}/resume", responses=problems(409))
def resume_flow(flow_id: Id, runtime: RuntimeDep, principal: Sender) -> FlowOut:
    """Runs whose wait ended meanwhile move on at once. 409 unless paused."""
    flow_services.resume(runtime.database, Actor.of(principal), flow_id)
    runtime.wake_flows()
    return _flow_out(flow_services.view(runtime.database, flow_id))


@router.post(f"{FLOWS}/{{flow_id:flow_id}}/archive", responses=problems(409))
def archive_flow(flow_id: Id, runtime: RuntimeDep, principal: Sender) -> ArchivedOut:
    """Stopped for good: its runs in progress end (cancelled); its figures stay. 409 when
    already archived."""
    ended = flow_services.archive(runtime.database, Actor.of(principal), flow_id)
    shown = _flow_out(flow_services.view(runtime.database, flow_id))
    return ArchivedOut(**shown.model_dump(), runs_ended=ended)


@router.get(f"{FLOWS}/{{flow_id:flow_id}}/runs")
def list_runs(
    flow_id: Id,
    session: ReadSession,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    step: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Only active runs at this step id (with `status`: the runs of that "
            "status that ended there).",
        ),
        NoNul,
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> RunPage:
    """The flow's runs, newest first: who is where."""
    flows.get_flow(session, flow_id)
    if step is not None and status is None:
        status = RunStatus.ACTIVE
    rows = flows.list_runs(
        session, flow_id=flow_id, status=status, position=step, before_id=cursor, limit=limit
    )
    return RunPage(
        items=[RunOut.of(r) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.get(f"{FLOWS}/{{flow_id:flow_id}}/runs/{{run_id}}")
def get_run(flow_id: Id, run_id: Id, session: ReadSession) -> RunDetailOut:
    """One run and its history: each step it reached and what came of it."""
    run = flows.get_run(session, flow_id, run_id)
    return RunDetailOut.with_history(run, flows.run_history(session, run_id))


@router.get("/api/v1/contacts/{contact_id}/runs", tags=["contacts"])
def list_contact_runs(
    contact_id: Id, session: ReadSession, cursor: Cursor = None, limit: Limit = 50
) -> RunPage:
    """The runs a contact is in or was in, newest first, and where each is."""
    contacts.get_contact(session, contact_id)
    rows = flows.list_runs(session, contact_id=contact_id, before_id=cursor, limit=limit)
    return RunPage(
        items=[RunOut.of(r) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
