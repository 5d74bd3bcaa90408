"""Why a campaign is still sending: its unfinished messages grouped by what they wait for, each
group in a sentence a marketer reads ("3 messages held by the recipients' quiet hours until
08:00 their time (07:00 UTC)").

The counts of the queue, of the messages being handed over and of those with Sinch are the
campaign's `figures`; the messages held by a send window are grouped by the moment they are
held until (one group per opening of a time zone's window), earliest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain.campaigns.queries import family_ids
from textcast.domain.campaigns.queue import deferred_of
from textcast.domain.outbox.screening import PAUSED_FOR_BUDGET
from textcast.domain.phones.zones import recipient_zone
from textcast.domain.reporting.figures import Figures
from textcast.models import Campaign, CampaignStatus, Contact, Message, MessageStatus, utcnow

HELD_GROUPS = 5
"""The earliest openings told one by one; later ones are summed in one more sentence."""


@dataclass(frozen=True, slots=True)
class Wait:
    reason: str
    """`quiet_hours`, `local_send_time`, `scheduled`, `paused`, `budget`, `queue`,
    `handing_over` or `with_sinch`."""
    messages: int
    text: str
    """The sentence shown on the page."""
    until: datetime | None = None
    """When they should move on, UTC, where known (the window's opening, the start, the
    queue's estimated end)."""
    local_time: str | None = None
    """`until` in the recipients' own time zone (`HH:MM`), when one zone is known."""
    time_zone: str | None = None


def why_waiting(
    session: Session,
    campaign: Campaign,
    figures: Figures,
    send_rate: float,
    *,
    now: datetime | None = None,
    family: Sequence[int] | None = None,
) -> list[Wait]:
    """What the unfinished messages of a campaign wait for; empty when nothing does.
    `family`: the campaign and those under it (`family_ids`, read when not given), whose
    messages `figures` counted."""
    now = now or utcnow()
    waits: list[Wait] = []
    queued = figures.count(MessageStatus.QUEUED)
    if queued:
        waits.append(_queued(campaign, figures, queued, send_rate, now))
    if figures.count(MessageStatus.DEFERRED):
        waits.extend(_held(session, campaign, family or family_ids(session, campaign.id), now))
    handing = figures.count(MessageStatus.SUBMITTING)
    if handing:
        waits.append(
            Wait(
                "handing_over",
                handing,
                f"{_messages(handing)} being handed to Sinch: its answer is not back yet.",
            )
        )
    if figures.with_sinch:
        waits.append(
            Wait(
                "with_sinch",
                figures.with_sinch,
                f"{_messages(figures.with_sinch)} with Sinch, waiting for "
                f"{'its' if figures.with_sinch == 1 else 'their'} delivery report "
                "(Sinch gives up on a message after 72 hours).",
            )
        )
    return waits


def _queued(
    campaign: Campaign, figures: Figures, queued: int, send_rate: float, now: datetime
) -> Wait:
    n = _messages(queued)
    status = campaign.status
    if status == CampaignStatus.SCHEDULED and campaign.send_at is not None:
        return Wait(
            "scheduled",
            queued,
            f"{n} waiting for the start at {_moment(campaign.send_at, now)} UTC.",
            until=campaign.send_at,
        )
    if status == CampaignStatus.PAUSED:
        reason = campaign.status_reason or ""
        if reason.startswith(PAUSED_FOR_BUDGET):
            return Wait(
                "budget",
                queued,
                f"{n} waiting: the campaign paused at its budget ({reason}). "
                "Raise the budget, then resume, to send them.",
            )
        return Wait("paused", queued, f"{n} waiting: the campaign is paused. Resume it to send.")
    if status in (CampaignStatus.CANCELLED, CampaignStatus.FAILED):
        return Wait("paused", queued, f"{n} left in the queue: the campaign is {status}.")
    if send_rate <= 0:
        return Wait("queue", queued, f"{n} in the queue, being handed to Sinch now.")
    parts = figures.parts_by_status.get(MessageStatus.QUEUED, queued)
    seconds = parts / send_rate
    until = now + timedelta(seconds=seconds)
    return Wait(
        "queue",
        queued,
        f"{n} in the queue, handed to Sinch at {send_rate:g} parts a second (SEND_RATE): "
        f"done by about {_moment(until, now)} UTC ({_duration(seconds)}) at the earliest, "
        "as other campaigns share the rate.",
        until=until,
    )


def _held(session: Session, campaign: Campaign, family: Sequence[int], now: datetime) -> list[Wait]:
    timed = _timed(session, campaign, family)
    # Read campaign by campaign, each through its partial index; a group is the messages
    # held until one moment, for one reason (a send-time test's variants wait for their
    # times, the others for quiet hours).
    found: dict[tuple[datetime, bool], list[Any]] = {}
    for member in family:
        rows = session.execute(
            select(
                Message.not_before,
                func.count(),
                func.min(Contact.time_zone),
                func.min(Contact.country),
                func.min(Message.phone),
            )
            .select_from(Message)
            .outerjoin(Contact, Contact.phone == Message.phone)
            .where(*deferred_of(member))
            .group_by(Message.not_before)
        )
        for until, n, time_zone, country, phone in rows:
            if until is None:
                continue
            group = found.setdefault((until, member in timed), [0, time_zone, country, phone])
            group[0] += int(n)
    groups = [
        (until, by_time, n, tz, c, p) for (until, by_time), (n, tz, c, p) in sorted(found.items())
    ]
    waits: list[Wait] = []
    for until, by_time, n, time_zone, country, phone in groups[:HELD_GROUPS]:
        zone = recipient_zone(phone, country, time_zone).zone
        local = until.astimezone(ZoneInfo(zone)).strftime("%H:%M") if zone else None
        held_by = (
            "held for the campaign's send time in the recipient's own time zone"
            if by_time
            else "held by the recipient's quiet hours"
        )
        if n != 1:
            held_by = held_by.replace("recipient's", "recipients'")
        when = f"{_moment(until, now)} UTC"
        if local is not None:
            when = f"{local} their time ({when})"
        waits.append(
            Wait(
                "local_send_time" if by_time else "quiet_hours",
                n,
                f"{_messages(n)} {held_by} until {when}.",
                until=until,
                local_time=local,
                time_zone=zone,
            )
        )
    later = sum(n for _, _, n, *_ in groups[HELD_GROUPS:])
    if later:
        first, by_time = groups[HELD_GROUPS][:2]
        waits.append(
            Wait(
                "local_send_time" if by_time else "quiet_hours",
                later,
                f"{_messages(later)} more held until later, the first at "
                f"{_moment(first, now)} UTC.",
                until=first,
            )
        )
    return waits


def _timed(session: Session, campaign: Campaign, family: Sequence[int]) -> set[int]:
    """The campaigns of the family sent at a local send time."""
    if list(family) == [campaign.id]:
        return {campaign.id} if campaign.local_send_time is not None else set()
    rows = session.scalars(
        select(Campaign.id).where(Campaign.id.in_(family), Campaign.local_send_time.is_not(None))
    )
    return set(rows)


def _messages(n: int) -> str:
    return f"{n:,} message{'' if n == 1 else 's'}"


def _moment(at: datetime, now: datetime) -> str:
    """`07:00` today (UTC), else `2026-05-02 07:00`."""
    if at.date() == now.date():
        return at.strftime("%H:%M")
    return at.strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "in less than a minute"
    if seconds < 3600:
        return f"in about {round(seconds / 60)} min"
    return f"in about {seconds / 3600:.1f} h"
