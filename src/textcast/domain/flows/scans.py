"""Date and segment triggers: nothing happens at the moment they fire, so the engine looks
for them (`scan_due`, once a minute of its clock, before it moves runs on).

A date trigger starts a contact whose attribute (YYYY-MM-DD, MM-DD or --MM-DD) falls on the
contact's local today, once the trigger's local time of day has come. Only the month and day
count: a birthday of 1990-06-01 starts a run every 1 June. A 29 February starts its run on
1 March in the years without one. Each run carries the local date as its occurrence, so each
date starts one run whatever the flow's re-entry rule (`runs.may_reenter`); a day the engine
did not run at all (down from before the time until after local midnight) is not made up.

A segment trigger starts the contacts found in the segment who were not there at the last
look (`flow_segment_members` remembers who was); a contact who left is forgotten, so coming
back later counts as entering again (within the re-entry rule, at most once a UTC day). The
first look after a flow goes live, or after its trigger changed, only records who is there:
those contacts did not enter the segment, they were in it already.

Contacts are read a chunk at a time, in id order, and only the candidates: for a date, those
whose attribute ends with one of the month-days it can be somewhere on Earth now.
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, delete, insert, or_, select
from sqlalchemy.orm import Session

from textcast.domain.audience import segments
from textcast.domain.errors import Conflict
from textcast.domain.flows import dates
from textcast.domain.flows.definitions import Trigger
from textcast.domain.flows.flows import program_of
from textcast.domain.flows.runs import enter_many
from textcast.domain.phones.zones import recipient_zone
from textcast.models import Contact, ContactStatus, Flow, FlowRun, FlowSegmentMember, FlowStatus

log = logging.getLogger(__name__)

SCAN_CHUNK = 1000
"""Contacts read per round: memory stays flat however large the audience."""
_EARLIEST_OFFSET = timedelta(hours=-12)
_LATEST_OFFSET = timedelta(hours=14)
"""UTC offsets span -12:00 to +14:00: the local dates somewhere on Earth at an instant."""


def scans_needed(session: Session) -> bool:
    """Whether a live flow has a date or segment trigger (a read: most installations have
    none, and `scan_due` needs a write transaction)."""
    return (
        session.scalar(
            select(Flow.id)
            .where(Flow.status == FlowStatus.LIVE, Flow.trigger_type.in_(("date", "segment")))
            .limit(1)
        )
        is not None
    )


def scan_due(session: Session, now: datetime, chunk: int = SCAN_CHUNK) -> int:
    """Start the runs that live date and segment triggers owe now; how many started.

    `chunk`: contacts read per query (smaller in tests, to go through several)."""
    started = 0
    scanned = session.scalars(
        select(Flow)
        .where(Flow.status == FlowStatus.LIVE, Flow.trigger_type.in_(("date", "segment")))
        .order_by(Flow.id)
    ).all()
    for flow in scanned:
        if flow.version_id is None:
            continue
        trigger = program_of(session, flow.version_id).definition.trigger
        try:
            if trigger.type == "date":
                started += _scan_dates(session, flow, trigger, now, chunk)
            elif trigger.type == "segment":
                started += _scan_segment(session, flow, trigger, now, chunk)
        except Conflict as exc:
            # Its segment was deleted: the flow starts nobody until it is edited.
            log.warning("flow %d was not scanned: %s", flow.id, exc)
            continue
        flow.scanned_at = now
    return started


# -- dates ---------------------------------------------------------------------------------


def _scan_dates(session: Session, flow: Flow, trigger: Trigger, now: datetime, chunk: int) -> int:
    assert trigger.attribute is not None
    at = trigger.at or time(10, 0)
    days = _dates_on_earth(now)
    value = Contact.attributes[trigger.attribute].as_string()
    started_today = select(FlowRun.contact_id).where(
        FlowRun.flow_id == flow.id, FlowRun.occurrence.in_([day.isoformat() for day in days])
    )
    candidates = (
        select(Contact.id, Contact.phone, Contact.country, Contact.time_zone, value)
        .where(
            Contact.status == ContactStatus.SUBSCRIBED,
            or_(*(value.like(f"%{pattern}") for pattern in _month_day_patterns(days))),
            Contact.id.not_in(started_today),
        )
        .order_by(Contact.id)
    )
    started = 0
    for rows in _chunks(session, candidates, chunk):
        due: dict[str, list[int]] = defaultdict(list)
        for contact_id, phone, country, zone_name, text in rows:
            zone = recipient_zone(phone, country, zone_name)
            for day in dates.local_dates(zone, now):
                if dates.falls_on(text, day) and dates.local_instant(zone, day, at) <= now:
                    due[day.isoformat()].append(contact_id)
                    break
        for occurrence, ids in due.items():
            started += enter_many(session, flow, ids, now=now, occurrence=occurrence)
    return started


def _dates_on_earth(now: datetime) -> list[date]:
    utc = now.astimezone(UTC)
    return sorted({(utc + _EARLIEST_OFFSET).date(), utc.date(), (utc + _LATEST_OFFSET).date()})


def _month_day_patterns(days: list[date]) -> list[str]:
    patterns = {f"{day.month:02d}-{day.day:02d}" for day in days}
    if any((d.month, d.day) == (3, 1) and not calendar.isleap(d.year) for d in days):
        patterns.add("02-29")
    return sorted(patterns)


# -- segments ------------------------------------------------------------------------------


def _scan_segment(session: Session, flow: Flow, trigger: Trigger, now: datetime, chunk: int) -> int:
    chosen = segments.audience_condition(session, {"segments": [trigger.segment_id]})
    if chosen is None:
        return 0
    in_segment = select(Contact.id).where(chosen, Contact.status == ContactStatus.SUBSCRIBED)
    remembered = select(FlowSegmentMember.contact_id).where(FlowSegmentMember.flow_id == flow.id)
    session.execute(
        delete(FlowSegmentMember)
        .where(
            FlowSegmentMember.flow_id == flow.id, FlowSegmentMember.contact_id.not_in(in_segment)
        )
        .execution_options(synchronize_session=False)
    )
    first_look = flow.scanned_at is None
    newcomers = (
        select(Contact.id)
        .where(chosen, Contact.status == ContactStatus.SUBSCRIBED, Contact.id.not_in(remembered))
        .order_by(Contact.id)
    )
    started = 0
    for rows in _chunks(session, newcomers, chunk):
        ids = [row[0] for row in rows]
        session.execute(
            insert(FlowSegmentMember), [{"flow_id": flow.id, "contact_id": i} for i in ids]
        )
        if not first_look:
            started += enter_many(session, flow, ids, now=now, occurrence=now.date().isoformat())
    return started


def _chunks(session: Session, query: Select[Any], size: int) -> Iterator[list[Any]]:
    """The rows of `query` (ordered by contact id, first column), a chunk at a time."""
    after = 0
    while True:
        rows = list(session.execute(query.where(Contact.id > after).limit(size)))
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = rows[-1][0]
