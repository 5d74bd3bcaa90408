"""The engine: due runs are claimed, moved on through their steps, and written back, in one
transaction per chunk.

`advance_due` claims up to a chunk of active runs whose `wake_at` has come (PostgreSQL: `FOR
UPDATE SKIP LOCKED` on the partial index of active runs), follows each through its steps until
it rests (a wait), ends (an exit, the last step) or is held (the daily quota), and writes what
came of it: the runs' new places, their history, and the texts of their send steps as outbox
messages. All of it commits together or not at all: a crash before the commit leaves the runs
due, as they were, and nothing queued; after it, the texts are in the outbox and the dispatcher
sends each exactly once (`docs/sending-protocol.md`). No step is skipped or repeated.

Runs that end up in the same place (a chunk of a welcome series waking together) are written
with one UPDATE per place, not one per run.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.orm import Session

from textcast.domain import outbox
from textcast.domain.audience import segments
from textcast.domain.audience.attributes import attribute_problems
from textcast.domain.campaigns import drafts, planning, send_window
from textcast.domain.campaigns.launch import ShortLinks, message_rows
from textcast.domain.campaigns.quotas import QUOTA_WINDOW, recipients_launched_since
from textcast.domain.content import links
from textcast.domain.errors import Conflict
from textcast.domain.flows import dates
from textcast.domain.flows.announcements import RunOf, announce_ended
from textcast.domain.flows.definitions import Condition, Program, Step
from textcast.domain.flows.flows import program_of
from textcast.domain.flows.statements import among, insert_rows
from textcast.domain.phones.zones import recipient_zone
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ClaimCursor,
    Contact,
    ContactStatus,
    Flow,
    FlowRun,
    FlowRunStep,
    FlowStatus,
    FlowStepCampaign,
    InboundMessage,
    Link,
    ListMember,
    Message,
    RunStatus,
)

CHUNK = 1000
"""Runs per transaction on SQLite: its one writer lock is held for the whole chunk, and the
webhooks' group commit waits for it."""
CHUNK_POSTGRESQL = 5000
"""Runs per transaction on PostgreSQL, where a chunk locks only its own runs: the fixed cost
of a chunk (claim, commit, a campaign's row) is shared by more of them (1000 -> 5000: +35-50%
wake-ups/s measured), and a STOP or an event for one of them waits about a second at most."""
QUOTA_RETRY = timedelta(minutes=15)
"""A send held by the daily quota is tried again this much later."""
MAX_STEPS_PER_WAKE = 250
"""Steps one run may take in one go (a flow has at most 100; a guard, not a rule)."""


@dataclass(slots=True)
class Advanced:
    """What one call did."""

    woken: int = 0
    queued: int = 0
    """Texts written to the outbox (queued or deferred to the recipient's window)."""
    skipped: int = 0
    """Texts not sent: opted out, frequency cap, a merge field without value."""
    ended: int = 0
    held: int = 0
    """Sends held back by the daily quota."""
    full: bool = False
    """The chunk was full: more may be due."""


@dataclass(slots=True)
class _Run:
    """A claimed run being moved on (its row's columns, changed in place)."""

    id: int
    flow_id: int
    version_id: int
    contact_id: int
    phone: str
    entry: int
    position: str | None
    waiting: bool
    waiting_for: str | None
    context: dict[str, Any]
    started_at: datetime
    status: RunStatus = RunStatus.ACTIVE
    wake_at: datetime | None = None
    end_reason: str | None = None
    context_changed: bool = False


@dataclass(slots=True)
class _Send:
    run: _Run
    step: Step
    history: dict[str, Any]
    """Its history row, completed once the text is written (message id, or why skipped)."""


@dataclass(slots=True)
class _Work:
    """What a chunk writes."""

    history: list[dict[str, Any]] = field(default_factory=list)
    sends: list[_Send] = field(default_factory=list)
    quota_left: int | None = None


def any_due(session: Session, now: datetime) -> bool:
    """Whether a run of a live flow is due: a read, so that an idle engine's poll takes no
    write transaction (on SQLite, the one writer's lock the webhooks need)."""
    return session.scalar(select(FlowRun.id).where(*_due(now)).limit(1)) is not None


def advance_due(
    session: Session, policy: planning.Policy, now: datetime, limit: int = CHUNK
) -> Advanced:
    """Move on up to `limit` due runs of live flows; the caller commits."""
    rows = _claim(session, now, limit)
    result = Advanced(woken=len(rows), full=len(rows) >= limit)
    if not rows:
        return result
    runs = [_run_of(row) for row in rows]
    contacts = _contacts(session, {run.contact_id for run in runs})
    work = _Work(quota_left=_quota_left(session, policy, now))
    # A chunk's runs share a few versions: each is read once, not once per run.
    programs = {version: program_of(session, version) for version in {r.version_id for r in runs}}
    for run in runs:
        program = programs[run.version_id]
        _follow(session, run, program, contacts.get(run.contact_id), now, work, result)
    added = _write_sends(session, policy, work.sends, contacts, now, result)
    _write_runs(session, runs, now)
    _write_history(session, work.history)
    # Last, so that the claims of these campaigns wait on their cursors only for the commit.
    for campaign_id, first_id in added.items():
        outbox.queued_after_launch(session, campaign_id, first_id)
    result.ended = sum(1 for run in runs if run.status != RunStatus.ACTIVE)
    return result


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Active runs of live flows whose time has come (the partial index `ix_flow_runs_due`)."""
    live = select(Flow.id).where(Flow.status == FlowStatus.LIVE)
    return (FlowRun.status == RunStatus.ACTIVE, FlowRun.wake_at <= now, FlowRun.flow_id.in_(live))


def _claim(session: Session, now: datetime, limit: int) -> Sequence[Row[Any]]:
    query = (
        select(
            FlowRun.id,
            FlowRun.flow_id,
            FlowRun.version_id,
            FlowRun.contact_id,
            FlowRun.phone,
            FlowRun.entry,
            FlowRun.position,
            FlowRun.waiting,
            FlowRun.waiting_for,
            FlowRun.context,
            FlowRun.started_at,
        )
        .where(*_due(now))
        .order_by(FlowRun.wake_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # A standby that became leader while this one finishes its chunk skips these runs.
        query = query.with_for_update(skip_locked=True, of=FlowRun.__table__)
    return session.execute(query).all()


def _run_of(row: Row[Any]) -> _Run:
    return _Run(
        id=row.id,
        flow_id=row.flow_id,
        version_id=row.version_id,
        contact_id=row.contact_id,
        phone=row.phone,
        entry=row.entry,
        position=row.position,
        waiting=bool(row.waiting),
        waiting_for=row.waiting_for,
        context=dict(row.context or {}),
        started_at=row.started_at,
    )


@dataclass(slots=True)
class _Person:
    """What the steps read of a run's contact (a column list, not ORM objects: a chunk
    loads a thousand)."""

    id: int
    phone: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    country: str | None
    time_zone: str | None
    status: ContactStatus


def _contacts(session: Session, ids: set[int]) -> dict[int, _Person]:
    found: dict[int, _Person] = {}
    listed = list(ids)
    columns = (
        Contact.id,
        Contact.phone,
        Contact.first_name,
        Contact.last_name,
        Contact.attributes,
        Contact.country,
        Contact.time_zone,
        Contact.status,
    )
    for start in range(0, len(listed), 5000):
        rows = session.execute(
            select(*columns).where(among(session, Contact.id, listed[start : start + 5000]))
        )
        for row in rows:
            found[row.id] = _Person(*row)
            found[row.id].attributes = dict(row.attributes or {})
    return found


def _quota_left(session: Session, policy: planning.Policy, now: datetime) -> int | None:
    if not policy.daily_recipient_quota:
        return None
    used = recipients_launched_since(session, now - QUOTA_WINDOW)
    return max(policy.daily_recipient_quota - used, 0)


# -- one run -------------------------------------------------------------------------------


def _follow(
    session: Session,
    run: _Run,
    program: Program,
    contact: _Person | None,
    now: datetime,
    work: _Work,
    result: Advanced,
) -> None:
    """Move `run` on from where it is until it rests, ends or is held."""

    def note(step_id: str, outcome: str, detail: str | None = None) -> dict[str, Any]:
        row = {
            "run_id": run.id,
            "flow_id": run.flow_id,
            "step_id": step_id,
            "outcome": outcome,
            "message_id": None,
            "detail": detail,
            "at": now,
        }
        work.history.append(row)
        return row

    if contact is None or contact.status != ContactStatus.SUBSCRIBED:
        why = "the contact was deleted" if contact is None else _not_subscribed(contact)
        _end(run, RunStatus.STOPPED, why)
        note(run.position or "-", str(RunStatus.STOPPED), why)
        return
    if run.waiting:
        # The wait at `position` is over: its event came (the event cleared `waiting_for`)
        # or its time did.
        step = program.steps.get(run.position or "")
        if run.waiting_for is not None:
            run.context["arrived"] = False
            run.context_changed = True
        run.waiting, run.waiting_for = False, None
        run.position = program.next_of(step) if step is not None else None
    for _ in range(MAX_STEPS_PER_WAKE):
        if run.position is None:
            _end(run, RunStatus.COMPLETED, "went through every step")
            return
        step = program.steps.get(run.position)
        if step is None:
            # Only a run moved onto a version without its step can get here.
            _end(run, RunStatus.COMPLETED, f"step {run.position} is not in its version")
            return
        if step.type == "send":
            if work.quota_left is not None and work.quota_left <= 0:
                run.wake_at = now + QUOTA_RETRY
                note(step.id, "held", "the daily recipient quota is reached")
                result.held += 1
                return
            if work.quota_left is not None:
                work.quota_left -= 1
            work.sends.append(_Send(run, step, note(step.id, "sent")))
            run.position = program.next_of(step)
        elif step.type == "wait":
            wake, detail = _wake_time(step, contact, now)
            if wake is None:
                note(step.id, "passed", detail)
                run.position = program.next_of(step)
                continue
            run.waiting = True
            run.waiting_for = step.until_event
            run.wake_at = wake
            if step.until_event is not None:
                run.context.pop("arrived", None)
                run.context_changed = True
            note(step.id, "waiting", detail)
            return
        elif step.type == "branch":
            assert step.condition is not None
            answer = _holds(session, step.condition, run, contact, now)
            note(step.id, "yes" if answer else "no")
            run.position = program.next_of(step, answer)
        elif step.type == "update":
            note(step.id, *_update_contact(session, step, contact))
            run.position = program.next_of(step)
        else:  # exit
            note(step.id, "exited")
            _end(run, RunStatus.EXITED, f"reached the exit step {step.id}")
            return
    _end(run, RunStatus.COMPLETED, "took too many steps at once")


def _end(run: _Run, status: RunStatus, reason: str) -> None:
    run.status = status
    run.end_reason = reason[:300]
    run.wake_at = None
    run.waiting, run.waiting_for = False, None


def _not_subscribed(contact: _Person) -> str:
    if contact.status == ContactStatus.INVALID:
        return "the number cannot receive texts"
    return "the contact opted out"


# -- waits ---------------------------------------------------------------------------------


def _wake_time(step: Step, contact: _Person, now: datetime) -> tuple[datetime | None, str | None]:
    """When a wait started now ends, and a word on it; None: it is over already (a date in
    the past, or none known)."""
    if step.wait_for is not None:
        return now + step.wait_for, None
    if step.until_event is not None:
        return now + (step.timeout or timedelta(0)), f"until {step.until_event}"
    if step.until_date is not None:
        value = (contact.attributes or {}).get(step.until_date)
        wake = _date_comes(contact, value, step.until_time or time(9, 0), now)
        if wake is None:
            return None, f"no date to come in {step.until_date}"
        return wake, None
    assert step.until_time is not None
    return _local(contact, step.until_time, now), None


def _local(contact: _Person, at: time, now: datetime) -> datetime:
    """The next `at` o'clock in the contact's time zone, from now."""
    zone = recipient_zone(contact.phone, contact.country, contact.time_zone)
    try:
        return send_window.local_time_to_utc(zone, now, at)
    except send_window.NoSendWindow:
        # No zone known: UTC stands in (the send window still holds the text if need be).
        moment = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
        return moment if moment >= now else moment + timedelta(days=1)


def _date_comes(contact: _Person, value: object, at: time, now: datetime) -> datetime | None:
    """When it is `at` o'clock, in the contact's time, on the date in `value`: a full date
    (2027-03-01) as it is, None once past; a yearly one (03-01, --03-01) the next time it
    comes round (29 February: 1 March in the years without one). None: no date."""
    if not isinstance(value, str) or not value.strip():
        return None
    zone = recipient_zone(contact.phone, contact.country, contact.time_zone)
    text = value.strip()
    if len(text) == 10:
        try:
            moment = dates.local_instant(zone, date.fromisoformat(text), at)
        except ValueError:
            return None
        return moment if moment >= now else None
    found = dates.month_day(text)
    if found is None:
        return None
    year = min(dates.local_dates(zone, now)).year
    for candidate in (year, year + 1):
        month, day = found
        if (month, day) == (2, 29) and not calendar.isleap(candidate):
            month, day = 3, 1
        moment = dates.local_instant(zone, date(candidate, month, day), at)
        if moment >= now:
            return moment
    return None


# -- branches ------------------------------------------------------------------------------


def _holds(
    session: Session, condition: Condition, run: _Run, contact: _Person, now: datetime
) -> bool:
    kind = condition.kind
    if kind == "attribute":
        assert condition.name is not None
        return compare(_attribute(contact, condition.name), condition.op, condition.value)
    if kind == "event":
        event = run.context.get("event") or {}
        assert condition.name is not None
        return compare(event.get(condition.name), condition.op, condition.value)
    if kind == "arrived":
        return bool(run.context.get("arrived"))
    if kind == "list":
        return (
            session.scalar(
                select(ListMember.contact_id).where(
                    ListMember.contact_id == contact.id, ListMember.list_id == condition.list_id
                )
            )
            is not None
        )
    if kind == "segment":
        try:
            chosen = segments.audience_condition(session, {"segments": [condition.segment_id]})
        except Conflict:
            # The segment was deleted (nothing stops that while a flow names it): nobody is
            # in it, rather than every run of the chunk failing with it.
            return False
        if chosen is None:
            return False
        return (
            session.scalar(select(Contact.id).where(Contact.id == contact.id, chosen)) is not None
        )
    # Within the window, and since the run started: a reply or a click from before the
    # contact entered answers nothing the flow sent.
    since = max(now - (condition.within or timedelta(days=1)), run.started_at)
    if kind == "replied":
        return (
            session.scalar(
                select(InboundMessage.id)
                .where(
                    InboundMessage.from_phone == contact.phone,
                    InboundMessage.received_at >= since,
                )
                .limit(1)
            )
            is not None
        )
    # clicked: a short link of any text to this number, clicked within the window
    return (
        session.scalar(
            select(Link.code)
            .join(Message, Message.id == Link.message_id)
            .where(Message.phone == contact.phone, Link.last_click_at >= since)
            .limit(1)
        )
        is not None
    )


def _attribute(contact: _Person, name: str) -> object:
    if name in ("first_name", "last_name", "phone", "country"):
        return getattr(contact, name)
    return (contact.attributes or {}).get(name)


def compare(actual: object, op: str, expected: str | None) -> bool:
    """A value against a condition: texts compared without regard to case, numbers as
    numbers; a missing value is neither equal to, greater nor less than anything."""
    present = actual is not None and str(actual).strip() != ""
    if op == "is_set":
        return present
    if op == "is_not_set":
        return not present
    if not present or expected is None:
        return op == "not_equals" and expected is not None
    text = str(actual).strip().casefold()
    wanted = expected.strip().casefold()
    if op == "equals":
        return text == wanted or _same_number(text, wanted)
    if op == "not_equals":
        return not (text == wanted or _same_number(text, wanted))
    if op == "contains":
        return wanted in text
    try:
        number, bound = float(text), float(wanted)
    except ValueError:
        return False
    return number > bound if op == "greater_than" else number < bound


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


# -- updates -------------------------------------------------------------------------------


def _update_contact(session: Session, step: Step, contact: _Person) -> tuple[str, str | None]:
    if step.set_attributes:
        attributes = dict(contact.attributes or {})
        for name, value in step.set_attributes.items():
            if value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        problems = attribute_problems(attributes)
        if problems:
            return "skipped", f"{problems[0].field}: {problems[0].message}"[:300]
        stored = session.get(Contact, contact.id)
        if stored is not None:
            stored.attributes = attributes
        contact.attributes = attributes
    if step.add_to_list is not None and (
        session.get(ListMember, (step.add_to_list, contact.id)) is None
    ):
        session.add(ListMember(list_id=step.add_to_list, contact_id=contact.id))
    if step.remove_from_list is not None:
        member = session.get(ListMember, (step.remove_from_list, contact.id))
        if member is not None:
            session.delete(member)
    session.flush()
    return "updated", None


# -- sends ---------------------------------------------------------------------------------


def _write_sends(
    session: Session,
    policy: planning.Policy,
    sends: list[_Send],
    contacts: dict[int, _Person],
    now: datetime,
    result: Advanced,
) -> dict[int, int]:
    """Each send step's texts, rendered for its contacts, into its campaign of today; the
    first message id written to each campaign."""
    added: dict[int, int] = {}
    groups: dict[tuple[int, str, int], list[_Send]] = defaultdict(list)
    for send in sends:
        groups[(send.run.version_id, send.step.id, send.run.entry)].append(send)
    for (version_id, step_id, generation), group in groups.items():
        campaign = _step_campaign(session, policy, group[0], version_id, step_id, generation, now)
        first_id = _write_group(session, policy, campaign, group, contacts, now, result)
        if first_id is not None:
            added[campaign.id] = first_id
    return added


def _step_campaign(
    session: Session,
    policy: planning.Policy,
    first: _Send,
    version_id: int,
    step_id: str,
    generation: int,
    now: datetime,
) -> Campaign:
    day = now.date().isoformat()
    found = session.scalar(
        select(Campaign)
        .join(FlowStepCampaign, FlowStepCampaign.campaign_id == Campaign.id)
        .where(
            FlowStepCampaign.version_id == version_id,
            FlowStepCampaign.step_id == step_id,
            FlowStepCampaign.generation == generation,
            FlowStepCampaign.day == day,
        )
    )
    if found is not None:
        return found
    flow_name = session.scalar(select(Flow.name).where(Flow.id == first.run.flow_id)) or "Flow"
    run_word = "" if generation == 1 else f" (runs #{generation})"
    campaign = Campaign(
        reference=drafts.new_reference(),
        name=f"{flow_name}: step {step_id}{run_word}, {day}"[: drafts.MAX_NAME_CHARS],
        body=first.step.body or "",
        sender=None,
        status=CampaignStatus.SENDING,
        kind=CampaignKind.FLOW,
        recipient_count=0,
        audience={"lists": [], "segments": []},
        smart_encoding=False,
        short_links=bool(policy.short_link_base) and bool(links.find_urls(first.step.body or "")),
        spent=0.0,
        estimated_cost=0.0,
        created_at=now,
        launched_at=now,
    )
    drafts.set_body_info(campaign)
    session.add(campaign)
    session.flush()
    session.add(ClaimCursor(campaign_id=campaign.id, claimed_through=0))
    session.add(
        FlowStepCampaign(
            campaign_id=campaign.id,
            flow_id=first.run.flow_id,
            version_id=version_id,
            step_id=step_id,
            generation=generation,
            day=day,
        )
    )
    session.flush()
    return campaign


def _write_group(
    session: Session,
    policy: planning.Policy,
    campaign: Campaign,
    group: list[_Send],
    contacts: dict[int, _Person],
    now: datetime,
    result: Advanced,
) -> int | None:
    already = set(
        session.scalars(
            select(Message.phone).where(
                Message.campaign_id == campaign.id,
                among(session, Message.phone, [send.run.phone for send in group]),
            )
        )
    )
    fresh = []
    for send in group:
        if send.run.phone in already:
            # Only a run moved between versions could come back to a step it passed today.
            send.history.update(outcome="skipped", detail="already sent today")
            result.skipped += 1
        else:
            fresh.append(send)
    if not fresh:
        return None
    evaluator = planning.Evaluator(session, campaign, policy, now)
    short_links = ShortLinks(policy.short_link_base, evaluator.out.urls)
    recipients = [_recipient(contacts[send.run.contact_id], send.run) for send in fresh]
    evaluated = evaluator.evaluate(recipients, short_links.maker)
    rows = message_rows(campaign.id, evaluated, now)
    inserted = insert_rows(
        session, cast(Table, Message.__table__), MESSAGE_COLUMNS, rows, ("phone", "id")
    )
    ids: dict[str, int] = dict(inserted)
    short_links.write(session, campaign.id, evaluated, ids)
    sent = 0
    for send, one in zip(fresh, evaluated, strict=True):
        send.history["message_id"] = ids.get(one.phone)
        if one.excluded:
            send.history.update(outcome="skipped", detail=str(one.excluded))
            result.skipped += 1
        else:
            sent += 1
    result.queued += sent
    campaign.recipient_count += len(rows)
    # The rolling DAILY_RECIPIENT_QUOTA counts a campaign's recipients while its launch is
    # within 24 hours: moved to its latest texts, a day's campaign counts them all until 24
    # hours after the last (more than the window holds, never less).
    campaign.launched_at = now
    campaign.estimated_cost = (campaign.estimated_cost or 0.0) + sum(
        one.cost for one in evaluated if not one.excluded
    )
    return min(ids.values())


def _recipient(contact: _Person, run: _Run) -> planning.Recipient:
    data: dict[str, Any] = dict(contact.attributes or {})
    data.update(
        phone=contact.phone,
        first_name=contact.first_name,
        last_name=contact.last_name,
        country=contact.country,
    )
    for key, value in (run.context.get("event") or {}).items():
        data[f"event.{key}"] = value
    return planning.Recipient(
        contact.phone, contact.status, data, contact.country, contact.time_zone
    )


# -- writing the runs ----------------------------------------------------------------------

HISTORY_COLUMNS = {
    "run_id": "bigint",
    "flow_id": "bigint",
    "step_id": "text",
    "outcome": "text",
    "message_id": "bigint",
    "detail": "text",
    "at": "timestamptz",
}
MESSAGE_COLUMNS = {
    "campaign_id": "bigint",
    "phone": "text",
    "status": "text",
    "parts": "int",
    "variables": "json",
    "not_before": "timestamptz",
    "error": "text",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}


def _write_history(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, cast(Table, FlowRunStep.__table__), HISTORY_COLUMNS, rows)


# -- the runs' places ----------------------------------------------------------------------


def _write_runs(session: Session, runs: Sequence[_Run], now: datetime) -> None:
    """One UPDATE per place the runs went to (most of a chunk goes to the same one)."""
    places: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for run in runs:
        ended = run.status != RunStatus.ACTIVE
        key = (
            run.status,
            None if ended else run.position,
            run.waiting,
            run.waiting_for,
            run.wake_at,
            run.end_reason,
        )
        places[key].append(run.id)
    for (status, position, waiting, waiting_for, wake_at, reason), ids in places.items():
        ended = status != RunStatus.ACTIVE
        for start in range(0, len(ids), 5000):
            session.execute(
                update(FlowRun)
                .where(among(session, FlowRun.id, ids[start : start + 5000]))
                .values(
                    status=status,
                    position=position,
                    waiting=waiting,
                    waiting_for=waiting_for,
                    wake_at=wake_at,
                    end_reason=reason,
                    ended_at=now if ended else None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
    changed = [{"id": run.id, "context": run.context} for run in runs if run.context_changed]
    if changed:
        session.execute(update(FlowRun), changed)
    endings: dict[RunStatus, list[RunOf]] = defaultdict(list)
    for run in runs:
        if run.status != RunStatus.ACTIVE:
            endings[run.status].append((run.flow_id, run.id, run.contact_id, run.phone))
    for outcome, runs_ended in endings.items():
        announce_ended(session, runs_ended, outcome, now)
