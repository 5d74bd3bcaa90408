"""Send windows: marketing texts go out only during the recipient's local hours.

A window is local wall-clock time: `08:00-21:00` means from 08:00 up to, not including, 21:00
where the recipient is. `Rules` say which window applies (the operator's default and overrides,
narrowed by the legal limits in `LEGAL_LIMITS`); `phones.zones.recipient_zone` says where the
recipient is (the contact's stored zone, else what the numbering plan knows about the number).
When several zones are possible, a text goes only while the window is open in every one of them.

Instants taken must be timezone-aware; instants returned are UTC. Everything that depends only on
(zone, day, window) is cached, as where a number is, so judging a recipient costs a few lookups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from textcast.domain.errors import DomainError
from textcast.domain.phones.zones import PlaceKey, RecipientZone, place_key, recipient_zone

LEGAL_LIMITS: Mapping[str, str] = MappingProxyType(
    {
        # TCPA, 47 CFR 64.1200(c)(1): no telephone solicitation before 8 a.m. or after 9 p.m.
        # at the called party's location.
        "US": "08:00-21:00",
        # Florida: Fla. Stat. 501.616(6)(a), 8 a.m. to 8 p.m. since SB 1120 (2021).
        "US-FL": "08:00-20:00",
        # Oklahoma: Telephone Solicitation Act of 2022 (HB 3168, 15 O.S. 775C), 8 a.m. to 8 p.m.
        # Both laws presume a number with one of the state's area codes is in the state.
        "US-OK": "08:00-20:00",
    }
)
"""The hours the law allows for marketing texts, by country ("US") or US state ("US-FL").

A default, not legal advice: an operator override with the same key replaces an entry. Rules by
day of the week or public holiday (some states, some countries) are not modelled. Countries not
listed get the operator's default window."""

_ONE_DAY = timedelta(days=1)
_SEARCH_DAYS = 8
"""How far ahead `next_allowed` looks; windows repeat daily, so a week without one means never."""


class NoSendWindow(DomainError):
    """No instant suits every zone the recipient may be in, or no zone is known at all."""


# -- windows and rules --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """From `opens` up to, not including, `closes`, in local wall-clock time."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(f"a send window must open before it closes, got {self}")

    def __str__(self) -> str:
        closes = "24:00" if self.closes == time.max else f"{self.closes:%H:%M}"
        return f"{self.opens:%H:%M}-{closes}"

    def narrowed(self, other: Window) -> Window | None:
        """The hours both windows share; None when they share none."""
        opens, closes = max(self.opens, other.opens), min(self.closes, other.closes)
        return Window(opens, closes) if opens < closes else None


_WINDOW = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})")


def parse_window(text: str) -> Window:
    """`08:00-21:00` as a Window; ValueError says what is wrong with anything else."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"send window {text!r} must look like 08:00-21:00")
    opens_hour, opens_minute, closes_hour, closes_minute = (int(part) for part in match.groups())
    opens = _clock(text, opens_hour, opens_minute)
    # `24:00` closes at the end of the day (`00:00-24:00`: always open).
    closes = (
        time.max
        if (closes_hour, closes_minute) == (24, 0)
        else _clock(text, closes_hour, closes_minute)
    )
    if opens >= closes:
        raise ValueError(
            f"send window {text!r} must open before it closes (a window cannot span midnight)"
        )
    return Window(opens, closes)


def _clock(text: str, hour: int, minute: int) -> time:
    if hour > 23 or minute > 59:
        raise ValueError(f"send window {text!r}: {hour:02}:{minute:02} is not a time of day")
    return time(hour, minute)


_KEY = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_ANY_STATE = "*"


@dataclass(frozen=True, slots=True)
class Rules:
    """Which window applies to a recipient, by country and US state."""

    default: Window
    windows: Mapping[str, Window] = field(hash=False)
    """The window of each "CC" and "CC-ST" with an entry, and "CC-*" for a recipient of such a
    country whose state is not known: the narrowest of its states'."""

    @classmethod
    def from_table(
        cls, default: str, overrides: Mapping[str, str], limits: Mapping[str, str] = LEGAL_LIMITS
    ) -> Rules:
        """The operator's settings (`QUIET_HOURS`, the override table) over the legal limits.

        A country gets its override, else `default`, narrowed by its legal limit. A state gets
        its override, else its country's, narrowed by the country's and the state's limits. An
        override replaces the legal limit of the same key: overrides may widen hours, limits
        only narrow them. ValueError names any key whose window is unreadable or empty.
        """
        base = parse_window(default)
        policies = {_key(key): _window_of(key, text) for key, text in overrides.items()}
        legal = {key: parse_window(text) for key, text in limits.items() if key not in policies}
        keys = policies.keys() | legal.keys()
        windows: dict[str, Window] = {}
        for country in sorted({key[:2] for key in keys}):
            own = policies.get(country, base)
            windows[country] = _narrowest(country, own, legal.get(country))
            states = sorted(key for key in keys if key.startswith(f"{country}-"))
            for state in states:
                policy = policies.get(state, own)
                windows[state] = _narrowest(state, policy, legal.get(country), legal.get(state))
            if states:
                windows[f"{country}-{_ANY_STATE}"] = _narrowest(
                    f"{country} (state unknown)", *(windows[key] for key in [country, *states])
                )
        return cls(base, MappingProxyType(windows))

    def window_for(self, country: str | None, us_state: str | None) -> Window:
        """The window for a recipient of `country` in `us_state` (None: not known)."""
        if country is None:
            return self.default
        found = self.windows.get(f"{country}-{us_state or _ANY_STATE}")
        return found or self.windows.get(country, self.default)


WindowBasis = Literal[
    "legal limit", "QUIET_HOURS", "QUIET_HOURS_RULES", "narrowed by law", "state unknown"
]


def window_basis(
    rules: Rules, overrides: Mapping[str, str], limits: Mapping[str, str] = LEGAL_LIMITS
) -> dict[str, WindowBasis]:
    """Why each key of `rules` has its window: the law, the operator's `QUIET_HOURS` or
    override, that window narrowed by the law, or (for "CC-*") the narrowest of the states'."""
    own = {_key(key): _window_of(key, text) for key, text in overrides.items()}
    basis: dict[str, WindowBasis] = {}
    for key, window in rules.windows.items():
        configured = next((k for k in (key, key[:2]) if k in own), None)
        if key.endswith(f"-{_ANY_STATE}"):
            basis[key] = "state unknown"
        elif key in limits and key not in own and window == parse_window(limits[key]):
            basis[key] = "legal limit"
        elif window == (own[configured] if configured else rules.default):
            basis[key] = "QUIET_HOURS_RULES" if configured else "QUIET_HOURS"
        else:
            basis[key] = "narrowed by law"
    return basis


def _key(key: str) -> str:
    normal = key.strip().upper()
    if not _KEY.fullmatch(normal):
        raise ValueError(
            f"send window override {key!r}: the key must be a country such as FR "
            "or a US state such as US-FL"
        )
    return normal


def _window_of(key: str, text: str) -> Window:
    try:
        return parse_window(text)
    except ValueError as exc:
        raise ValueError(f"send window override {key!r}: {exc}") from None


def _narrowest(what: str, *windows: Window | None) -> Window:
    present = [window for window in windows if window is not None]
    narrowest: Window | None = present[0]
    for window in present[1:]:
        narrowest = narrowest.narrowed(window) if narrowest is not None else None
    if narrowest is None:
        shown = ", ".join(str(window) for window in present)
        raise ValueError(f"send window for {what}: {shown} have no hour in common")
    return narrowest


# -- judging instants ---------------------------------------------------------------------------

_Span = tuple[datetime, datetime]


def is_allowed(recipient: RecipientZone, at: datetime, rules: Rules) -> bool:
    """Whether a marketing text may reach the recipient at `at`."""
    moment = _utc(at)
    window = rules.window_for(recipient.country, recipient.us_state)
    spans = _open(recipient.zones, window, moment.date())
    return any(start <= moment < end for start, end in spans)


def next_allowed(recipient: RecipientZone, at: datetime, rules: Rules) -> datetime:
    """`at` (in UTC) when a text may go then, else the instant the window next opens.

    NoSendWindow when no zone is known, or the possible zones never share an open hour.
    """
    moment = _utc(at)
    if not recipient.zones:
        raise NoSendWindow("no time zone is known for the recipient")
    window = rules.window_for(recipient.country, recipient.us_state)
    day = moment.date()
    for _ in range(_SEARCH_DAYS):
        for start, end in _open(recipient.zones, window, day):
            if end > moment:
                return max(start, moment)
        day += _ONE_DAY
    raise NoSendWindow(f"the window {window} is never open in {', '.join(recipient.zones)} at once")


def local_time_to_utc(recipient: RecipientZone, on_or_after: datetime, local: time) -> datetime:
    """The first instant from `on_or_after` at which it is `local` o'clock for the recipient.

    With several possible zones: the instant it has become `local` (of one date) in all of them,
    so that nobody gets a message meant for 10:00 before 10:00. The send window still applies.
    """
    moment = _utc(on_or_after)
    if local.tzinfo is not None:
        raise ValueError("the local time must be a wall-clock time, without tzinfo")
    if not recipient.zones:
        raise NoSendWindow("no time zone is known for the recipient")
    day = min(moment.astimezone(ZoneInfo(zone)).date() for zone in recipient.zones)
    while True:
        instant = max(_reaches(zone, day, local) for zone in recipient.zones)
        if instant >= moment:
            return instant
        day += _ONE_DAY


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} has no time zone: pass an aware datetime")
    return at.astimezone(UTC)


@lru_cache(maxsize=4096)
def _open(zones: tuple[str, ...], window: Window, day: date) -> tuple[_Span, ...]:
    """The spans touching the UTC `day` during which the window is open in every zone."""
    spans: list[_Span] | None = None
    for zone in zones:
        # Local dates from the day before to the day after cover every UTC offset.
        own = [_local_span(zone, day + timedelta(days=shift), window) for shift in (-1, 0, 1)]
        own = [(start, end) for start, end in own if start < end]
        spans = own if spans is None else _shared(spans, own)
    midnight = datetime.combine(day, time(), UTC)
    return tuple(
        (start, end) for start, end in spans or () if end > midnight and start < midnight + _ONE_DAY
    )


def _shared(first: list[_Span], second: list[_Span]) -> list[_Span]:
    """What two sorted lists of disjoint spans have in common."""
    shared: list[_Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if start < end:
            shared.append((start, end))
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return shared


@lru_cache(maxsize=1 << 14)
def _local_span(zone: str, day: date, window: Window) -> _Span:
    return _reaches(zone, day, window.opens), _reaches(zone, day, window.closes)


@lru_cache(maxsize=1 << 14)
def _reaches(zone_name: str, day: date, clock: time) -> datetime:
    """The first instant (UTC) at which the zone's wall clock shows `clock` or later on `day`.

    When clocks go back, that is the first of the two readings (fold=0). A reading skipped when
    clocks go forward is reached at the jump itself.
    """
    zone = ZoneInfo(zone_name)
    wall = datetime.combine(day, clock)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # `wall` lies in a gap, read with the offset from before the jump: the jump came earlier by
    # less than the gap. Clocks change on whole seconds; find the first one at or past `wall`.
    gap = instant.astimezone(zone).utcoffset() or timedelta()
    gap -= wall.replace(tzinfo=zone).utcoffset() or timedelta()
    low, high = int((instant - gap).timestamp()), int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# -- many recipients at once ---------------------------------------------------------------------


class Verdicts:
    """When each of many recipients may be texted, as of one instant: `next_allowed`, judged
    once for all the recipients `recipient_zone` places alike."""

    def __init__(self, at: datetime, rules: Rules) -> None:
        self._at = at
        self._rules = rules
        self._found: dict[PlaceKey, datetime | None] = {}

    def allowed(
        self, phone_e164: str, country: str | None, time_zone: str | None
    ) -> datetime | None:
        """The instant the text may go (`at` itself when the window is open); None when it
        never may (see `NoSendWindow`)."""
        key = place_key(phone_e164, country, time_zone, None)
        if key in self._found:
            return self._found[key]
        try:
            verdict: datetime | None = next_allowed(
                recipient_zone(phone_e164, country, time_zone), self._at, self._rules
            )
        except NoSendWindow:
            verdict = None
        self._found[key] = verdict
        return verdict
