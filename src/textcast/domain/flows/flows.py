"""A flow's life: created as a draft, published (live), edited into new versions, paused,
resumed, archived, or deleted while nothing has run through it.

Runs keep the version they started on; only the flow's current version takes new runs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy.orm import Session

from textcast.domain import stream
from textcast.domain.content.words import normalise
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.domain.flows.announcements import announce_ended
from textcast.domain.flows.definitions import Definition, Program, read_definition, to_json
from textcast.models import (
    ContactList,
    EventType,
    Flow,
    FlowRun,
    FlowSegmentMember,
    FlowStatus,
    FlowVersion,
    ListKeyword,
    RunStatus,
    Segment,
    utcnow,
)

MAX_NAME_CHARS = 200


@dataclass(frozen=True, slots=True)
class Changed:
    flow: Flow
    version: FlowVersion | None
    """The version the change published, if it published one."""


def create_flow(
    session: Session,
    name: str,
    definition: object,
    known_attributes: set[str] | None = None,
    *,
    publish: bool = False,
    reserved: Mapping[str, str] | None = None,
) -> Changed:
    """A new flow, a draft unless `publish` (then live at once, as version 1).

    `reserved`: the keywords the settings give a meaning (normalised word to setting name)."""
    checked = _checked(session, name, definition, known_attributes, reserved)
    flow = Flow(
        name=name.strip(),
        status=FlowStatus.DRAFT,
        draft=to_json(checked),
        **_trigger_columns(checked),
    )
    session.add(flow)
    session.flush()
    version = (
        publish_flow(session, flow.id, known_attributes, reserved).version if publish else None
    )
    return Changed(flow, version)


def edit_flow(
    session: Session,
    flow_id: int,
    *,
    name: str | None = None,
    definition: object | None = None,
    known_attributes: set[str] | None = None,
    reserved: Mapping[str, str] | None = None,
) -> Changed:
    """Rename, or change the definition. A flow published before gets a new version at once
    (runs in progress keep theirs); a draft just keeps the change."""
    flow = get_flow(session, flow_id, for_update=True)
    if flow.status == FlowStatus.ARCHIVED:
        raise Conflict(f"flow {flow_id} is archived; copy it to change it")
    if name is not None:
        flow.name = _checked_name(name)
    version = None
    if definition is not None:
        checked = _checked(session, flow.name, definition, known_attributes, reserved)
        stored = to_json(checked)
        before = (flow.trigger_type, flow.trigger_key)
        for column, value in _trigger_columns(checked).items():
            setattr(flow, column, value)
        if (flow.trigger_type, flow.trigger_key) != before:
            # Another segment (or date): the next scan looks at it afresh (`scans`), so the
            # members of the new segment are not taken for newcomers.
            flow.scanned_at = None
            session.execute(delete(FlowSegmentMember).where(FlowSegmentMember.flow_id == flow.id))
        if flow.version_id is None:
            flow.draft = stored
        elif stored != current_definition_json(session, flow):
            version = _new_version(session, flow, stored)
    flow.updated_at = utcnow()
    return Changed(flow, version)


def publish_flow(
    session: Session,
    flow_id: int,
    known_attributes: set[str] | None = None,
    reserved: Mapping[str, str] | None = None,
) -> Changed:
    """A draft goes live: its definition becomes version 1 and its trigger starts runs.

    Checked again with `known_attributes` (a draft from a template may name attributes no
    contact has yet: publishing it is refused until some do, or it is changed)."""
    flow = get_flow(session, flow_id, for_update=True)
    if flow.status != FlowStatus.DRAFT:
        raise Conflict(f"flow {flow_id} is {flow.status}; only a draft is published")
    if flow.draft is None:
        raise Conflict(f"flow {flow_id} has nothing to publish")
    _checked(session, flow.name, flow.draft, known_attributes, reserved)
    version = _new_version(session, flow, flow.draft)
    flow.draft = None
    _set_status(flow, FlowStatus.LIVE)
    return Changed(flow, version)


def pause_flow(session: Session, flow_id: int) -> Flow:
    """Nothing enters and no run moves on; texts already handed to the outbox still go."""
    flow = get_flow(session, flow_id, for_update=True)
    if flow.status != FlowStatus.LIVE:
        raise Conflict(f"flow {flow_id} is {flow.status}; only a live flow can be paused")
    _set_status(flow, FlowStatus.PAUSED)
    return flow


def resume_flow(session: Session, flow_id: int) -> Flow:
    """Runs whose wait ended meanwhile move on at once; new contacts enter again."""
    flow = get_flow(session, flow_id, for_update=True)
    if flow.status != FlowStatus.PAUSED:
        raise Conflict(f"flow {flow_id} is {flow.status}; only a paused flow resumes")
    _set_status(flow, FlowStatus.LIVE)
    return flow


def archive_flow(session: Session, flow_id: int, now: datetime | None = None) -> int:
    """Stop the flow for good: its runs in progress end (cancelled). How many ended."""
    flow = get_flow(session, flow_id, for_update=True)
    if flow.status == FlowStatus.ARCHIVED:
        raise Conflict(f"flow {flow_id} is already archived")
    _set_status(flow, FlowStatus.ARCHIVED)
    now = now or utcnow()
    cancelling = (
        update(FlowRun)
        .where(FlowRun.flow_id == flow_id, FlowRun.status == RunStatus.ACTIVE)
        .values(
            status=RunStatus.CANCELLED,
            end_reason="the flow was archived",
            ended_at=now,
            updated_at=now,
            wake_at=None,
            waiting_for=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _end_all(session, flow_id, cancelling, RunStatus.CANCELLED, now)


def _end_all(
    session: Session, flow_id: int, ending: Update, outcome: RunStatus, now: datetime
) -> int:
    """Run `ending`, an UPDATE that ends runs of the flow; how many it ended. Their rows are
    read back only when the event stream wants them (an archive may end a million runs)."""
    if not stream.wanted(session, EventType.FLOW_RUN_ENDED):
        result = session.execute(ending)
        return max(int(getattr(result, "rowcount", 0) or 0), 0)
    ended = session.execute(ending.returning(FlowRun.id, FlowRun.contact_id, FlowRun.phone)).all()
    runs = [(flow_id, run_id, contact_id, phone) for run_id, contact_id, phone in ended]
    announce_ended(session, runs, outcome, now)
    return len(ended)


def delete_flow(session: Session, flow_id: int) -> str:
    """Delete a flow nothing has run through; its name. One with runs is archived instead,
    so its figures and each contact's history stay."""
    flow = get_flow(session, flow_id, for_update=True)
    if session.scalar(select(FlowRun.id).where(FlowRun.flow_id == flow_id).limit(1)):
        raise Conflict(
            f"flow {flow_id} has runs; archive it instead (its figures and history stay)"
        )
    name = flow.name
    session.execute(delete(FlowVersion).where(FlowVersion.flow_id == flow_id))
    session.delete(flow)
    return name


def get_flow(session: Session, flow_id: int, *, for_update: bool = False) -> Flow:
    flow = session.get(Flow, flow_id, with_for_update=for_update or None)
    if flow is None:
        raise NotFound("flow", flow_id)
    return flow


def list_flows(session: Session, *, archived: bool = False) -> list[Flow]:
    query = select(Flow).order_by(Flow.id.desc())
    if not archived:
        query = query.where(Flow.status != FlowStatus.ARCHIVED)
    return list(session.scalars(query))


def current_definition_json(session: Session, flow: Flow) -> dict[str, Any]:
    """What the builder edits: the draft, or the version new runs start on."""
    if flow.version_id is None:
        return dict(flow.draft or {})
    version = session.get(FlowVersion, flow.version_id)
    return dict(version.definition) if version is not None else {}


def versions_of(session: Session, flow_id: int) -> list[FlowVersion]:
    return list(
        session.scalars(
            select(FlowVersion)
            .where(FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.number.desc())
        )
    )


def program_of(session: Session, version_id: int) -> Program:
    """A stored version ready to run (versions never change: read once per process)."""
    definition = session.scalar(select(FlowVersion.definition).where(FlowVersion.id == version_id))
    if definition is None:
        raise NotFound("flow version", version_id)
    # Keyed by the text too: another database (a test's) may reuse the id.
    return _program(version_id, json.dumps(definition, sort_keys=True))


@functools.lru_cache(maxsize=512)
def _program(version_id: int, definition: str) -> Program:
    del version_id  # part of the key only
    return Program.of(read_definition(json.loads(definition)))


def _new_version(session: Session, flow: Flow, definition: dict[str, Any]) -> FlowVersion:
    number = (
        session.scalar(select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow.id))
        or 0
    ) + 1
    version = FlowVersion(
        flow_id=flow.id, number=number, definition=definition, published_at=utcnow()
    )
    session.add(version)
    session.flush()
    flow.version_id = version.id
    return version


def _checked(
    session: Session,
    name: str,
    definition: object,
    known_attributes: set[str] | None,
    reserved: Mapping[str, str] | None = None,
) -> Definition:
    problems: list[FieldProblem] = []
    try:
        _checked_name(name)
    except InvalidInput as exc:
        problems.extend(exc.problems)
    try:
        checked = read_definition(definition, known_attributes)
    except InvalidInput as exc:
        raise InvalidInput(problems + exc.problems) from None
    problems.extend(_references(session, checked))
    problems.extend(_keyword_problems(session, checked, reserved))
    if problems:
        raise InvalidInput(problems)
    return checked


def _checked_name(name: str) -> str:
    if not name.strip():
        raise InvalidInput([FieldProblem("name", "a flow needs a name")])
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput([FieldProblem("name", f"at most {MAX_NAME_CHARS} characters")])
    return name.strip()


def _references(session: Session, definition: Definition) -> list[FieldProblem]:
    """Lists and segments named by the trigger and the steps must exist."""
    lists: dict[int, str] = {}
    segments: dict[int, str] = {}
    trigger = definition.trigger
    if trigger.list_id is not None:
        lists[trigger.list_id] = "trigger.list_id"
    if trigger.segment_id is not None:
        segments[trigger.segment_id] = "trigger.segment_id"
    for step in definition.walk():
        where = f"step {step.id}"
        for list_id in (step.add_to_list, step.remove_from_list):
            if list_id is not None:
                lists.setdefault(list_id, where)
        condition = step.condition
        if condition is not None and condition.list_id is not None:
            lists.setdefault(condition.list_id, where)
        if condition is not None and condition.segment_id is not None:
            segments.setdefault(condition.segment_id, where)
    problems = []
    found_lists = set(session.scalars(select(ContactList.id).where(ContactList.id.in_(lists))))
    for list_id, where in lists.items():
        if list_id not in found_lists:
            problems.append(FieldProblem(where, f"there is no list {list_id}"))
    found = set(session.scalars(select(Segment.id).where(Segment.id.in_(segments))))
    for segment_id, where in segments.items():
        if segment_id not in found:
            problems.append(FieldProblem(where, f"there is no segment {segment_id}"))
    return problems


def _trigger_columns(definition: Definition) -> dict[str, Any]:
    trigger = definition.trigger
    key = trigger.key
    if trigger.type == "keyword" and key is not None:
        key = normalise(key)  # matched as STOP is: case, spaces and punctuation do not count
    return {"trigger_type": trigger.type, "trigger_key": key, "goal_event": definition.goal}


def _keyword_problems(
    session: Session, definition: Definition, reserved: Mapping[str, str] | None
) -> list[FieldProblem]:
    """A flow's keyword must reach the flow: not an opt-out, opt-in, help or confirmation
    word (`reserved`: normalised word to its setting), nor a list's keyword (which starts a
    sign-up instead)."""
    if definition.trigger.type != "keyword" or definition.trigger.keyword is None:
        return []
    word = normalise(definition.trigger.keyword)
    if not word:
        return [FieldProblem("trigger.keyword", "has no letters or digits: use a word like VIP")]
    if reserved and word in reserved:
        return [
            FieldProblem(
                "trigger.keyword",
                f"{word} is already a keyword of {reserved[word]}: that text would never "
                "reach this flow",
            )
        ]
    taken = session.scalar(select(ListKeyword.list_id).where(ListKeyword.word == word))
    if taken is not None:
        return [
            FieldProblem(
                "trigger.keyword",
                f"{word} is a list's keyword (list {taken}): that text starts a sign-up, "
                "not this flow; pick another word",
            )
        ]
    return []


def _set_status(flow: Flow, status: FlowStatus) -> None:
    flow.status = status
    flow.status_changed_at = flow.updated_at = utcnow()


# -- moving runs to the current version ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Landing:
    """Where the runs at one step of an older version would land on the current one."""

    version: int
    step_id: str
    waiting: bool
    runs: int
    lands_on: str | None
    """The same step when the current version has it, else the first step after it that it
    has; None: nothing left after it, the runs end (completed)."""


def move_runs(
    session: Session, flow_id: int, *, apply: bool = False, now: datetime | None = None
) -> list[Landing]:
    """Preview (or, with `apply`, do) moving the flow's active runs on older versions to its
    current one: each keeps its place where the step still exists (a wait goes on until its
    time), else goes to the next step that does, due at once."""
    flow = get_flow(session, flow_id, for_update=apply)
    if flow.version_id is None:
        raise Conflict(f"flow {flow_id} has never been published; it has no runs to move")
    current = program_of(session, flow.version_id)
    groups = session.execute(
        select(FlowRun.version_id, FlowRun.position, FlowRun.waiting, func.count())
        .where(
            FlowRun.flow_id == flow_id,
            FlowRun.status == RunStatus.ACTIVE,
            FlowRun.version_id != flow.version_id,
        )
        .group_by(FlowRun.version_id, FlowRun.position, FlowRun.waiting)
        .order_by(FlowRun.version_id, FlowRun.position)
    ).all()
    numbers = {
        version_id: number
        for version_id, number in session.execute(
            select(FlowVersion.id, FlowVersion.number).where(FlowVersion.flow_id == flow_id)
        )
    }
    now = now or utcnow()
    landings = []
    for version_id, position, waiting, count in groups:
        old = program_of(session, version_id)
        lands_on = _landing(old, current, position)
        stays = lands_on == position
        landings.append(
            Landing(numbers.get(version_id, 0), position or "-", bool(waiting), count, lands_on)
        )
        if not apply:
            continue
        where = (
            FlowRun.flow_id == flow_id,
            FlowRun.status == RunStatus.ACTIVE,
            FlowRun.version_id == version_id,
            FlowRun.position == position,
            FlowRun.waiting.is_(bool(waiting)),
        )
        if lands_on is None:
            values: dict[str, Any] = {
                "status": RunStatus.COMPLETED,
                "end_reason": "moved to a version with nothing after its step",
                "ended_at": now,
                "wake_at": None,
                "waiting": False,
                "waiting_for": None,
            }
        elif stays:
            values = {}
        else:
            values = {"position": lands_on, "waiting": False, "waiting_for": None, "wake_at": now}
        moving = (
            update(FlowRun)
            .where(*where)
            .values(version_id=flow.version_id, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if lands_on is None:
            _end_all(session, flow_id, moving, RunStatus.COMPLETED, now)
        else:
            session.execute(moving)
    return landings


def landings_on(session: Session, flow_id: int, definition: Definition) -> list[Landing]:
    """Where the flow's active runs would land were `definition` published as its next
    version and its runs moved (`move_runs` then does the same): the builder's preview, shown
    before the operator saves and moves them."""
    get_flow(session, flow_id)
    proposed = Program.of(definition)
    numbers = {
        version_id: number
        for version_id, number in session.execute(
            select(FlowVersion.id, FlowVersion.number).where(FlowVersion.flow_id == flow_id)
        )
    }
    groups = session.execute(
        select(FlowRun.version_id, FlowRun.position, FlowRun.waiting, func.count())
        .where(FlowRun.flow_id == flow_id, FlowRun.status == RunStatus.ACTIVE)
        .group_by(FlowRun.version_id, FlowRun.position, FlowRun.waiting)
        .order_by(FlowRun.version_id, FlowRun.position)
    ).all()
    return [
        Landing(
            numbers.get(version_id, 0),
            position or "-",
            bool(waiting),
            count,
            _landing(program_of(session, version_id), proposed, position),
        )
        for version_id, position, waiting, count in groups
    ]


def _landing(old: Program, current: Program, position: str | None) -> str | None:
    """The step of `current` a run at `position` of `old` goes to."""
    if position is None:
        return None
    if position in current.steps:
        return position
    order = [step.id for step in old.definition.walk()]
    if position not in order:
        return None
    for later in order[order.index(position) + 1 :]:
        if later in current.steps:
            return later
    return None
