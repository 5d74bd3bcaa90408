"""Runs: a contact entering a flow (within its re-entry rule), and runs ending early (STOP,
a goal, an operator).

Entering writes one `flow_runs` row, due now, in the transaction of whatever triggered it (the
sign-up's confirmation, the keyword's inbound message, the event's post): the engine does its
first step when it next looks, so a trigger costs one INSERT and never waits for a send.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from textcast.domain.content.words import normalise
from textcast.domain.flows.flows import program_of
from textcast.models import Flow, FlowRun, FlowRunStep, FlowStatus, RunStatus, utcnow


@dataclass(frozen=True, slots=True)
class Entrant:
    contact_id: int
    phone: str


def enter(
    session: Session,
    flow: Flow,
    who: Entrant,
    *,
    context: dict[str, Any] | None = None,
    event_id: int | None = None,
    occurrence: str | None = None,
    now: datetime | None = None,
) -> FlowRun | None:
    """Start `who` on the flow's current version; None when its re-entry rule says no (or
    the same occurrence, a birthday, already started a run)."""
    if flow.status != FlowStatus.LIVE or flow.version_id is None:
        return None
    now = now or utcnow()
    definition = program_of(session, flow.version_id).definition
    before = session.execute(
        select(func.max(FlowRun.entry), func.max(FlowRun.started_at)).where(
            FlowRun.flow_id == flow.id, FlowRun.contact_id == who.contact_id
        )
    ).one()
    last_entry, last_start = int(before[0] or 0), before[1]
    if last_entry:
        if definition.reentry == "once":
            return None
        if (
            definition.reentry == "cooldown"
            and definition.cooldown is not None
            and last_start is not None
            and last_start > now - definition.cooldown
        ):
            return None
        if occurrence is not None and session.scalar(
            select(FlowRun.id).where(
                FlowRun.flow_id == flow.id,
                FlowRun.contact_id == who.contact_id,
                FlowRun.occurrence == occurrence,
            )
        ):
            return None
    run = FlowRun(
        flow_id=flow.id,
        version_id=flow.version_id,
        contact_id=who.contact_id,
        phone=who.phone,
        entry=last_entry + 1,
        occurrence=occurrence,
        status=RunStatus.ACTIVE,
        position=definition.first,
        wake_at=now,
        waiting=False,
        waiting_for=None,
        context=context or {},
        event_id=event_id,
        started_at=now,
        updated_at=now,
    )
    # Two triggers of one contact at the same moment would both take the next entry number:
    # the second finds it taken and starts nothing, inside its own savepoint.
    savepoint = session.begin_nested()
    try:
        session.add(run)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return run


def live_flows(
    session: Session, trigger_type: str, keys: Collection[str | None] | None = None
) -> list[Flow]:
    """The live flows a trigger of this type (and, given, one of these keys) starts."""
    query = select(Flow).where(Flow.status == FlowStatus.LIVE, Flow.trigger_type == trigger_type)
    if keys is not None:
        named = [key for key in keys if key is not None]
        condition: ColumnElement[bool] = Flow.trigger_key.in_(named)
        if None in keys:
            condition = or_(condition, Flow.trigger_key.is_(None))
        query = query.where(condition)
    return list(session.scalars(query.order_by(Flow.id)))


def on_subscribed(
    session: Session, who: Entrant, list_ids: Sequence[int], now: datetime | None = None
) -> list[FlowRun]:
    """A contact subscribed (a form, a keyword, an import, the API), maybe to lists: the
    flows that start on any subscription or on one of those lists."""
    keys: list[str | None] = [None, *(str(list_id) for list_id in list_ids)]
    return _enter_all(session, live_flows(session, "subscribed", keys), who, now)


def on_keyword(
    session: Session, who: Entrant, word: str, now: datetime | None = None
) -> list[FlowRun]:
    """An inbound text that is a flow's keyword (matched as keywords are: case and spaces
    do not matter)."""
    key = normalise(word)
    if not key:
        return []
    return _enter_all(session, live_flows(session, "keyword", [key]), who, now)


def _enter_all(
    session: Session, flows: Sequence[Flow], who: Entrant, now: datetime | None
) -> list[FlowRun]:
    started = []
    for flow in flows:
        run = enter(session, flow, who, now=now)
        if run is not None:
            started.append(run)
    return started


def end_runs(
    session: Session,
    *,
    contact_ids: Collection[int] = (),
    phone: str | None = None,
    status: RunStatus = RunStatus.STOPPED,
    reason: str = "the number sent STOP",
    flow_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> int:
    """End every active run of these contacts (or of this number) at once; how many.

    A STOP calls this in its own transaction: no run of the number wakes again. Texts a run
    already queued are dropped by the outbox's opt-out check, as a campaign's are.
    """
    if not contact_ids and phone is None:
        return 0
    now = now or utcnow()
    who = FlowRun.contact_id.in_(list(contact_ids)) if contact_ids else FlowRun.phone == phone
    query = select(FlowRun.id, FlowRun.flow_id, FlowRun.position).where(
        who, FlowRun.status == RunStatus.ACTIVE
    )
    if flow_ids is not None:
        query = query.where(FlowRun.flow_id.in_(list(flow_ids)))
    ended = session.execute(query).all()
    if not ended:
        return 0
    session.execute(
        update(FlowRun)
        .where(FlowRun.id.in_([run_id for run_id, _, _ in ended]))
        .values(
            status=status,
            end_reason=reason,
            ended_at=now,
            updated_at=now,
            wake_at=None,
            waiting_for=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        FlowRunStep(
            run_id=run_id,
            flow_id=flow_id,
            step_id=position or "-",
            outcome=str(status),
            detail=reason[:300],
            at=now,
        )
        for run_id, flow_id, position in ended
    )
    return len(ended)
