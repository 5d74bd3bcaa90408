"""What a flow did, step by step, and where each contact is in it.

Per step: the runs that reached it (`entered`), rest in it now (`waiting`), the texts it sent
and what became of them (delivered, clicked, replied), the runs that left there (`exited`,
`goal`, `stopped`). The history (`flow_run_steps`) holds one row per step a run reached (a send
held by the quota adds one per try: runs are counted once); the texts' fates come from the
messages of the step's campaigns, as a campaign's figures do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from textcast.domain.errors import NotFound
from textcast.domain.flows.definitions import Program
from textcast.domain.flows.flows import get_flow, list_flows, program_of
from textcast.models import (
    Flow,
    FlowRun,
    FlowRunStep,
    FlowStepCampaign,
    FlowVersion,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
    RunStatus,
)

REACHED = ("sent", "skipped", "held", "waiting", "passed", "yes", "no", "updated", "exited")
"""History outcomes that mean the run reached the step (ending rows name where it was)."""


@dataclass(slots=True)
class StepFigures:
    step_id: str
    entered: int = 0
    waiting: int = 0
    sent: int = 0
    skipped: int = 0
    delivered: int = 0
    clicked: int = 0
    replied: int = 0
    exited: int = 0
    goal: int = 0
    stopped: int = 0
    yes: int = 0
    no: int = 0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class FlowFigures:
    runs: dict[str, int] = field(default_factory=dict)
    """Runs by status (every status present, zeros included)."""
    steps: dict[str, StepFigures] = field(default_factory=dict)
    """By step id, for every step of the current version and any older one with runs."""

    @property
    def started(self) -> int:
        return sum(self.runs.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": dict(self.runs),
            "started": self.started,
            "steps": {step_id: one.to_json() for step_id, one in self.steps.items()},
        }


def flow_figures(session: Session, flow_id: int) -> FlowFigures:
    flow = get_flow(session, flow_id)
    figures = FlowFigures(runs={str(status): 0 for status in RunStatus})
    for status, count in session.execute(
        select(FlowRun.status, func.count())
        .where(FlowRun.flow_id == flow_id)
        .group_by(FlowRun.status)
    ):
        figures.runs[str(status)] = int(count)
    program = _current_program(session, flow)
    if program is not None:
        for step in program.definition.walk():
            figures.steps[step.id] = StepFigures(step.id)

    def at(step_id: str) -> StepFigures:
        return figures.steps.setdefault(step_id, StepFigures(step_id))

    for step_id, outcome, rows in session.execute(
        select(FlowRunStep.step_id, FlowRunStep.outcome, func.count())
        .where(FlowRunStep.flow_id == flow_id)
        .group_by(FlowRunStep.step_id, FlowRunStep.outcome)
    ):
        one = at(step_id)
        if outcome in ("sent", "skipped", "exited", "yes", "no"):
            setattr(one, outcome, getattr(one, outcome) + int(rows))
        elif outcome in (RunStatus.GOAL, RunStatus.STOPPED):
            setattr(one, str(outcome), getattr(one, str(outcome)) + int(rows))
    entered = (
        select(FlowRunStep.step_id, func.count(distinct(FlowRunStep.run_id)))
        .where(FlowRunStep.flow_id == flow_id, FlowRunStep.outcome.in_(REACHED))
        .group_by(FlowRunStep.step_id)
    )
    for step_id, count in session.execute(entered):
        at(step_id).entered = int(count)
    for position, count in session.execute(
        select(FlowRun.position, func.count())
        .where(
            FlowRun.flow_id == flow_id,
            FlowRun.status == RunStatus.ACTIVE,
            FlowRun.waiting.is_(True),
        )
        .group_by(FlowRun.position)
    ):
        if position is not None:
            at(position).waiting = int(count)
    _message_fates(session, flow_id, at)
    return figures


def _message_fates(session: Session, flow_id: int, at: Callable[[str], StepFigures]) -> None:
    """Delivered, clicked and replied, from the messages of each step's campaigns."""
    campaigns = select(FlowStepCampaign.campaign_id, FlowStepCampaign.step_id).where(
        FlowStepCampaign.flow_id == flow_id
    )
    by_campaign = {campaign_id: step_id for campaign_id, step_id in session.execute(campaigns)}
    if not by_campaign:
        return
    ids = list(by_campaign)
    for campaign_id, count in session.execute(
        select(Message.campaign_id, func.count())
        .where(Message.campaign_id.in_(ids), Message.status == MessageStatus.DELIVERED)
        .group_by(Message.campaign_id)
    ):
        at(by_campaign[campaign_id]).delivered += int(count)
    for campaign_id, count in session.execute(
        select(Link.campaign_id, func.count(distinct(Link.message_id)))
        .where(Link.campaign_id.in_(ids), Link.unique_clicks > 0)
        .group_by(Link.campaign_id)
    ):
        at(by_campaign[campaign_id]).clicked += int(count)
    for answered, count in session.execute(
        select(InboundMessage.campaign_id, func.count(distinct(InboundMessage.from_phone)))
        .where(InboundMessage.campaign_id.in_(ids))
        .group_by(InboundMessage.campaign_id)
    ):
        if answered is not None:
            at(by_campaign[answered]).replied += int(count)


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A flow as its list shows it: the version new runs start on and its runs by status."""

    flow: Flow
    version: int | None
    runs: dict[str, int]

    @property
    def active(self) -> int:
        return self.runs.get(str(RunStatus.ACTIVE), 0)


def list_flow_rows(session: Session, *, archived: bool = False) -> list[FlowRow]:
    """Flows, newest first, each with its runs counted by status (two queries in all)."""
    found = list_flows(session, archived=archived)
    ids = [flow.id for flow in found]
    counts: dict[int, dict[str, int]] = {
        flow_id: {str(status): 0 for status in RunStatus} for flow_id in ids
    }
    numbers: dict[int, int] = {}
    if ids:
        for flow_id, status, count in session.execute(
            select(FlowRun.flow_id, FlowRun.status, func.count())
            .where(FlowRun.flow_id.in_(ids))
            .group_by(FlowRun.flow_id, FlowRun.status)
        ):
            counts[flow_id][str(status)] = int(count)
        version_ids = [flow.version_id for flow in found if flow.version_id is not None]
        numbers = {
            version_id: number
            for version_id, number in session.execute(
                select(FlowVersion.id, FlowVersion.number).where(FlowVersion.id.in_(version_ids))
            )
        }
    return [FlowRow(flow, numbers.get(flow.version_id or 0), counts[flow.id]) for flow in found]


def _current_program(session: Session, flow: Flow) -> Program | None:
    if flow.version_id is not None:
        return program_of(session, flow.version_id)
    return None


# -- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    flow_id: int
    flow_name: str
    version: int
    contact_id: int
    phone: str
    status: str
    position: str | None
    step_type: str | None
    waiting: bool
    waiting_for: str | None
    wake_at: datetime | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        for name in ("wake_at", "started_at", "ended_at"):
            moment = data[name]
            data[name] = moment.isoformat() if moment is not None else None
        return data


def list_runs(
    session: Session,
    *,
    run_id: int | None = None,
    flow_id: int | None = None,
    contact_id: int | None = None,
    status: str | None = None,
    position: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[RunView]:
    """Runs, newest first (`before_id` pages on)."""
    query = (
        select(FlowRun, Flow.name, FlowVersion.number)
        .join(Flow, Flow.id == FlowRun.flow_id)
        .join(FlowVersion, FlowVersion.id == FlowRun.version_id)
        .order_by(FlowRun.id.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(FlowRun.id == run_id)
    if flow_id is not None:
        query = query.where(FlowRun.flow_id == flow_id)
    if contact_id is not None:
        query = query.where(FlowRun.contact_id == contact_id)
    if status is not None:
        query = query.where(FlowRun.status == status)
    if position is not None:
        query = query.where(FlowRun.position == position)
    if before_id is not None:
        query = query.where(FlowRun.id < before_id)
    views = []
    for run, name, number in session.execute(query):
        program = program_of(session, run.version_id)
        step = program.steps.get(run.position or "")
        active = run.status == RunStatus.ACTIVE
        views.append(
            RunView(
                id=run.id,
                flow_id=run.flow_id,
                flow_name=name,
                version=number,
                contact_id=run.contact_id,
                phone=run.phone,
                status=str(run.status),
                position=run.position if active else None,
                step_type=step.type if step is not None and active else None,
                waiting=run.waiting,
                waiting_for=run.waiting_for,
                wake_at=run.wake_at,
                started_at=run.started_at,
                ended_at=run.ended_at,
                end_reason=run.end_reason,
            )
        )
    return views


def get_run(session: Session, flow_id: int, run_id: int) -> RunView:
    """One run of this flow (a run of another flow is not found here)."""
    found = list_runs(session, run_id=run_id, flow_id=flow_id, limit=1)
    if not found:
        raise NotFound("run", run_id)
    return found[0]


def run_history(session: Session, run_id: int) -> list[FlowRunStep]:
    """The steps one run reached, in order."""
    return list(
        session.scalars(
            select(FlowRunStep).where(FlowRunStep.run_id == run_id).order_by(FlowRunStep.id)
        )
    )
