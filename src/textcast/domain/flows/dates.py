"""Dates in the recipient's time: a date attribute's month and day, and the instant a local
time of day comes on a local date (date triggers and waits until a date)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from textcast.domain.phones.zones import RecipientZone


def falls_on(value: object, day: date) -> bool:
    """Whether a date attribute's month and day are `day`'s (29 February: 1 March in years
    without one)."""
    found = month_day(value)
    if found is None:
        return False
    if found == (day.month, day.day):
        return True
    return found == (2, 29) and (day.month, day.day) == (3, 1) and not calendar.isleap(day.year)


def month_day(value: object) -> tuple[int, int] | None:
    """(month, day) of YYYY-MM-DD, MM-DD or --MM-DD; None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            found = date.fromisoformat(text)
            return found.month, found.day
        month, day = (int(part) for part in text.removeprefix("--").split("-"))
        date(2000, month, day)  # a leap year: 02-29 is a date
    except ValueError:
        return None
    return month, day


def local_instant(zone: RecipientZone, day: date, at: time) -> datetime:
    """When it is `at` o'clock on `day` for the recipient: in every zone the number may be
    in, so nobody gets a 10:00 text before 10:00 (UTC when no zone is known)."""
    return max(datetime.combine(day, at, tzinfo=place).astimezone(UTC) for place in _zones(zone))


def local_dates(zone: RecipientZone, now: datetime) -> list[date]:
    """The dates it is for the recipient now (several when its zones straddle midnight)."""
    return sorted({now.astimezone(place).date() for place in _zones(zone)})


def _zones(zone: RecipientZone) -> list[ZoneInfo]:
    return [ZoneInfo(name) for name in zone.zones] or [ZoneInfo("UTC")]
