"""Events from outside (`order_placed`, `cart_abandoned`): stored once per idempotency key,
then, in the same transaction, they start the flows they trigger, wake the runs waiting for
them and end the runs whose goal they are.

An event nobody listens to is stored and counted (`unheard`); one for a number or contact
textcast does not know is stored and counted (`no_contact`), and creates the contact only
when a flow it triggers says so (`create_contacts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textcast.domain.audience import contacts as contact_book
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.flows.definitions import EVENT_NAME
from textcast.domain.flows.flows import program_of
from textcast.domain.flows.runs import Entrant, end_runs, enter, live_flows
from textcast.domain.phones.numbers import InvalidPhone, normalise_phone
from textcast.models import (
    Contact,
    ContactStatus,
    Event,
    Flow,
    FlowRun,
    FlowStatus,
    RunStatus,
    utcnow,
)
from textcast.wording import plural

MAX_PROPERTIES = 50
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 1_000
MAX_KEY = 200
FUTURE_GRACE = timedelta(minutes=5)

MATCHED = "matched"
UNHEARD = "unheard"
NO_CONTACT = "no_contact"
NOT_SUBSCRIBED = "not_subscribed"
"""The contact opted out (or its number is invalid): no flow starts for it; a goal or a
waiting run of it is still acted on."""


@dataclass(frozen=True, slots=True)
class EventInput:
    name: str
    phone: str | None = None
    contact_id: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    event: Event
    replayed: bool
    """The idempotency key was seen before: this is the event stored then, nothing redone."""


def record_event(
    session: Session,
    given: EventInput,
    default_region: str,
    secret: bytes,
    now: datetime | None = None,
) -> Recorded:
    """Store the event and act on it, or return the one stored under its idempotency key."""
    now = now or utcnow()
    name, phone, properties = _checked(given, default_region, now)
    if given.idempotency_key is not None:
        seen = _by_key(session, given.idempotency_key)
        if seen is not None:
            return Recorded(seen, replayed=True)
    contact = _contact_of(session, given.contact_id, phone)
    event = Event(
        name=name,
        idempotency_key=given.idempotency_key,
        contact_id=contact.id if contact else None,
        phone=contact.phone if contact else phone,
        properties=properties,
        occurred_at=given.occurred_at or now,
        received_at=now,
        outcome=UNHEARD,
    )
    # A retry racing the first post: the loser finds the winner's event.
    savepoint = session.begin_nested()
    try:
        session.add(event)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        seen = _by_key(session, given.idempotency_key or "")
        if seen is None:
            raise
        return Recorded(seen, replayed=True)
    savepoint.commit()
    starting = live_flows(session, "event", [name])
    goals = list(
        session.scalars(
            select(Flow.id).where(Flow.goal_event == name, Flow.status != FlowStatus.ARCHIVED)
        )
    )
    waiting = _waiting_for(session, name, contact.id if contact else None)
    if not (starting or goals or waiting):
        return Recorded(event, replayed=False)
    event.outcome = MATCHED
    if contact is None and phone is not None and any(_creates(session, f) for f in starting):
        contact = contact_book.create_contact(
            session,
            contact_book.ContactDraft(phone, consent_evidence=f"event {name}"),
            default_region,
            f"event:{event.id}",
            secret,
        )
        event.contact_id = contact.id
    if contact is None:
        event.outcome = NO_CONTACT
        return Recorded(event, replayed=False)
    who = Entrant(contact.id, contact.phone)
    if goals:
        event.runs_ended = end_runs(
            session,
            contact_ids=[contact.id],
            status=RunStatus.GOAL,
            reason=f"reached the goal: {name}",
            flow_ids=goals,
            now=now,
        )
    for run in waiting:
        run.waiting_for = None
        run.wake_at = now
        run.updated_at = now
        run.context = {
            **run.context,
            "arrived": True,
            "event": {**run.context.get("event", {}), **properties},
        }
    event.runs_resumed = len(waiting)
    if starting and contact.status != ContactStatus.SUBSCRIBED:
        event.outcome = NOT_SUBSCRIBED
        return Recorded(event, replayed=False)
    context = {"event": dict(properties)}
    for flow in starting:
        if enter(session, flow, who, context=context, event_id=event.id, now=now) is not None:
            event.runs_started += 1
    return Recorded(event, replayed=False)


def _creates(session: Session, flow: Flow) -> bool:
    """Whether the flow's current version creates the contact an event names."""
    if flow.version_id is None:
        return False
    return program_of(session, flow.version_id).definition.create_contacts


def _waiting_for(session: Session, name: str, contact_id: int | None) -> list[FlowRun]:
    if contact_id is None:
        return []
    return list(
        session.scalars(
            select(FlowRun)
            .where(
                FlowRun.contact_id == contact_id,
                FlowRun.status == RunStatus.ACTIVE,
                FlowRun.waiting_for == name,
            )
            .with_for_update()
        )
    )


def _contact_of(session: Session, contact_id: int | None, phone: str | None) -> Contact | None:
    if contact_id is not None:
        return session.get(Contact, contact_id)
    if phone is not None:
        return contact_book.find_by_phone(session, phone)
    return None


def _by_key(session: Session, key: str) -> Event | None:
    return session.scalar(select(Event).where(Event.idempotency_key == key))


def _checked(
    given: EventInput, default_region: str, now: datetime
) -> tuple[str, str | None, dict[str, Any]]:
    problems: list[FieldProblem] = []
    name = given.name.strip() if isinstance(given.name, str) else ""
    if not EVENT_NAME.fullmatch(name):
        problems.append(
            FieldProblem("name", "must be an event name: letters, digits, _ . : - (order_placed)")
        )
    phone = None
    if given.phone is None and given.contact_id is None:
        problems.append(FieldProblem("phone", "give the phone number or the contact_id"))
    elif given.phone is not None and given.contact_id is not None:
        problems.append(FieldProblem("contact_id", "give the phone number or the contact_id"))
    elif given.phone is not None:
        try:
            phone = normalise_phone(given.phone, default_region)
        except InvalidPhone as exc:
            problems.append(FieldProblem("phone", exc.quoting(given.phone), given.phone[:40]))
    if not isinstance(given.properties, Mapping):
        problems.append(FieldProblem("properties", "must be an object"))
        properties: dict[str, Any] = {}
    else:
        properties = dict(given.properties)
        if len(properties) > MAX_PROPERTIES:
            problems.append(FieldProblem("properties", f"at most {MAX_PROPERTIES} properties"))
        for key, value in list(properties.items())[:MAX_PROPERTIES]:
            where = f"properties.{str(key)[:MAX_KEY_CHARS]}"
            if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
                problems.append(FieldProblem(where, f"names are 1 to {MAX_KEY_CHARS} characters"))
            elif value is not None and not isinstance(value, str | int | float | bool):
                problems.append(FieldProblem(where, "must be a text, a number, true/false or null"))
            elif isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
                problems.append(FieldProblem(where, f"at most {MAX_VALUE_CHARS} characters"))
    occurred = given.occurred_at
    if occurred is not None and occurred.tzinfo is None:
        problems.append(
            FieldProblem("occurred_at", "must carry a time zone, e.g. 2026-12-01T10:00:00Z")
        )
    elif occurred is not None and occurred > now + FUTURE_GRACE:
        problems.append(FieldProblem("occurred_at", "is in the future"))
    idempotency_key = given.idempotency_key
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= MAX_KEY):
        problems.append(FieldProblem("idempotency_key", f"must be 1 to {MAX_KEY} characters"))
    if problems:
        raise InvalidInput(problems)
    return name, phone, properties


def event_counts(session: Session, since: datetime | None = None) -> list[tuple[str, str, int]]:
    """(name, outcome, count), most frequent first: what was posted and what came of it."""
    query = select(Event.name, Event.outcome, func.count()).group_by(Event.name, Event.outcome)
    if since is not None:
        query = query.where(Event.received_at >= since)
    return [(n, o, int(c)) for n, o, c in session.execute(query.order_by(func.count().desc()))]


def list_events(
    session: Session,
    *,
    name: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Event]:
    """Events as received, newest first (`before_id` pages on)."""
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if name is not None:
        query = query.where(Event.name == name)
    if outcome is not None:
        query = query.where(Event.outcome == outcome)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    return list(session.scalars(query))


def describe_event(event: Event) -> str:
    """What came of an event, in the words the API and the command line answer with."""
    if event.outcome == NO_CONTACT:
        by = "this number" if event.phone is not None else "this id"
        return (
            f"No contact has {by}; the event is stored. A flow creates the contact only when "
            "it says so (create_contacts)."
        )
    if event.outcome == NOT_SUBSCRIBED:
        return (
            "The contact is not subscribed (opted out, or an invalid number): the event is "
            f"stored and no flow starts for it; {plural(event.runs_resumed, 'waiting run')} "
            f"woken, {plural(event.runs_ended, 'run')} ended at their goal."
        )
    if event.outcome == UNHEARD:
        return f"No live flow listens to {event.name!r}; the event is stored and counted."
    return (
        f"Matched: {plural(event.runs_started, 'run')} started, "
        f"{plural(event.runs_resumed, 'run')} resumed, "
        f"{plural(event.runs_ended, 'run')} ended at their goal."
    )
