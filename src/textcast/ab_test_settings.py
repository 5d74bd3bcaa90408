"""An A/B test's settings as people write them, in the API's JSON and on the command line
("4h", "manual", "variant-a"), read into the experiments context's `AbTestDraft`. Its own module
so that the web API and the command line, siblings that do not import each other, read them
alike and name the same fields when one is wrong."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from textcast.domain import experiments
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.models import AbFallback, AbMetric

MANUAL = "manual"
_SPAN = re.compile(r"\s*(\d{1,6})\s*(d|h|m)\s*", re.IGNORECASE)
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
DECIDE_AFTER_WORDS = (
    "write how long after the test texts are sent to choose the winner, e.g. 4h, 90m or 2d "
    f"(a plain number is minutes); or null (on the command line: {MANUAL}) to pick it yourself"
)
WINDOW_WORDS = "write how long a reply or an event still counts, in whole hours, e.g. 24h or 2d"


@dataclass(frozen=True, slots=True)
class VariantText:
    """One variant as given: a text, or a send time (`HH:MM`)."""

    body: str | None = None
    send_time: str | None = None


@dataclass(frozen=True, slots=True)
class AbTestSettings:
    """How the winner is chosen, as given; the defaults are the experiments context's."""

    pool_percent: int = 20
    metric: AbMetric = AbMetric.CLICKS
    event: str | None = None
    window_hours: int = 24
    decide_after: int | str | None = "4h"
    """A span ("4h", "90m", "2d", "1h 30m"), minutes, or None / "manual" for a manual pick."""
    fallback: AbFallback = AbFallback.FIRST
    min_sample: int = 100
    confidence: float = 0.95
    seed: str | None = None


def read_test(
    variants: Sequence[VariantText], settings: AbTestSettings | None
) -> experiments.AbTestDraft:
    """The draft the experiments context checks; what only the spelling can get wrong (a variant
    with both a text and a time, a duration) is refused here, every problem at once."""
    settings = settings or AbTestSettings()
    problems: list[FieldProblem] = []
    for index, variant in enumerate(variants):
        if (variant.body is None) == (variant.send_time is None):
            problems.append(
                FieldProblem(
                    f"variants[{index}]",
                    "give one of the two: a body (a text) or a send_time (HH:MM)",
                )
            )
    try:
        minutes = minutes_of(settings.decide_after)
    except ValueError:
        problems.append(
            FieldProblem("test.decide_after", DECIDE_AFTER_WORDS, str(settings.decide_after))
        )
        minutes = None
    if problems:
        raise InvalidInput(problems)
    return experiments.AbTestDraft(
        bodies=[v.body for v in variants if v.body is not None],
        send_times=[v.send_time for v in variants if v.send_time is not None],
        pool_percent=settings.pool_percent,
        metric=settings.metric,
        event_name=settings.event,
        window_hours=settings.window_hours,
        decide_after_minutes=minutes,
        fallback=settings.fallback,
        min_sample=settings.min_sample,
        confidence=settings.confidence,
        seed=settings.seed,
    )


def minutes_of(value: int | str | None) -> int | None:
    """Minutes from "4h", "90m", "2d", "1h 30m" or a plain number of minutes; None for a manual
    pick (None or "manual"). ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(value)
        return value
    text = value.strip()
    if text.lower() == MANUAL:
        return None
    if text.isdigit():
        return int(text)
    position, total = 0, 0
    for match in _SPAN.finditer(text):
        if match.start() != position:
            break
        total += int(match[1]) * _UNIT_MINUTES[match[2].lower()]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(value)
    return total


def hours_of(value: str) -> int:
    """Whole hours from "24h", "2d" or a plain number of hours; ValueError otherwise."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text.lower() == MANUAL:
        raise ValueError(value)
    minutes = minutes_of(text)
    if minutes is None or minutes % 60:
        raise ValueError(value)
    return minutes // 60


def spell_minutes(minutes: int | None) -> str | None:
    """The shortest spelling `minutes_of` reads back: 90 is "1h 30m"; None stays None."""
    if minutes is None:
        return None
    if minutes == 0:
        return "0m"
    words = []
    for unit in ("d", "h", "m"):
        count, minutes = divmod(minutes, _UNIT_MINUTES[unit])
        if count:
            words.append(f"{count}{unit}")
    return " ".join(words)
