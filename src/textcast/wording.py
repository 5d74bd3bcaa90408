"""Words and numbers as people read them: plurals, money, moments with their time zone, and
validation errors in plain words.

One place for each, so that the pages, the command line, the CSV exports and the API's
error answers say things the same way. Imports nothing of textcast: every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic_core import ErrorDetails

# ---- plurals ------------------------------------------------------------------------------


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 recipient`, `2 recipients`, `1,200 replies` (given `reply`, `replies`)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


# ---- money --------------------------------------------------------------------------------

CURRENCY_DECIMALS: dict[str, int] = {
    # ISO 4217 minor units of the currencies that differ from 2; every other has 2.
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip
FINE_DECIMALS = 2
"""Extra decimals a price below one unit of money may show (a part costs fractions of a cent)."""


def currency_decimals(currency: str) -> int:
    """The decimals of an amount in `currency` (ISO 4217: USD 2, JPY 0, KWD 3)."""
    return CURRENCY_DECIMALS.get(currency.upper(), 2)


def money_amount(amount: float | Decimal, currency: str, *, fine: bool = False) -> str:
    """`1,234.50` for USD, `1,235` for JPY, `1.250` for KWD.

    `fine`: an amount below one unit (a price per part) keeps up to `FINE_DECIMALS` more
    decimals, without trailing zeros, so that `0.0075 USD` does not read `0.01`."""
    decimals = currency_decimals(currency)
    if fine and 0 < abs(float(amount)) < 1:
        shown = f"{amount:.{decimals + FINE_DECIMALS}f}"
        whole, _, tail = shown.partition(".")
        tail = tail.rstrip("0").ljust(decimals, "0")
        return f"{whole}.{tail}" if tail else whole
    return f"{amount:,.{decimals}f}"


def money(amount: float | Decimal, currency: str, *, fine: bool = False) -> str:
    """An amount with its currency: `1,234.50 USD`, `1,235 JPY`."""
    return f"{money_amount(amount, currency, fine=fine)} {currency}"


# ---- moments ------------------------------------------------------------------------------

MOMENT_FORMAT = "%Y-%m-%d %H:%M"
"""One format for a moment everywhere: `2026-12-07 14:05 CET` (with seconds where they count)."""


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names this machine knows (`Europe/Paris`, `UTC`...)."""
    return frozenset(available_timezones())


def time_zone(name: str | None) -> tzinfo:
    """The zone of an IANA name; UTC for None or a name this machine no longer knows."""
    if not name or name not in time_zone_names():
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def moment(at: datetime, zone: tzinfo = UTC, *, seconds: bool = False) -> str:
    """`2026-12-07 14:05 CET`: `at` (aware; naive is read as UTC) in `zone`, with its name."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(zone)
    shown = local.strftime(MOMENT_FORMAT + (":%S" if seconds else ""))
    return f"{shown} {local.tzname() or 'UTC'}"


# ---- validation errors --------------------------------------------------------------------

PYDANTIC_PHRASES = (
    "String should",
    "Input should",
    "Field required",
    "Value error",
    "List should",
    "Value should",
    "Dictionary should",
    "Decimal input",
    "Extra inputs",
    "JSON input should",
    "Assertion failed",
)
"""pydantic's own phrasing, which no answer of ours shows."""

_EXAMPLES = {
    "datetime": "a date and time such as 2026-12-07T14:05:00Z",
    "date": "a date such as 2026-12-07",
    "time": "a time such as 09:30",
}


def validation_in_words(error: ErrorDetails) -> str:
    """A validation error as a person would say it (pydantic's own phrasing reads oddly):
    `must not be empty`, `must be at most 160 characters`, `is required`."""
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    words = _IN_WORDS.get(kind)
    if words is not None:
        return words(context)
    if kind in ("value_error", "assertion_error"):
        reason = context.get("error")
        return str(reason) if reason is not None else _rephrased(str(error["msg"]))
    return _rephrased(str(error["msg"]))


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def _one_of(context: dict[str, Any]) -> str:
    """`must be one of: draft, scheduled` from pydantic's `'draft' or 'scheduled'`."""
    expected = str(context.get("expected", ""))
    choices = re.findall(r"'((?:[^'\\]|\\.)*)'", expected) or [expected]
    return "must be one of: " + ", ".join(choices)


def _length(context: dict[str, Any], key: str) -> int:
    return int(context.get(key) or 0)


def _too_short(context: dict[str, Any]) -> str:
    count = _length(context, "min_length")
    return "must not be empty" if count <= 1 else f"must be at least {count} characters"


def _too_few(context: dict[str, Any]) -> str:
    count = _length(context, "min_length")
    return "must not be empty" if count <= 1 else f"must have at least {plural(count, 'item')}"


_NUMBER = "must be a number, such as 30 or 0.5"
_WHOLE = "must be a whole number, such as 500"

_IN_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda _: "is required",
    "string_type": lambda _: "must be text",
    "string_unicode": lambda _: "must be text",
    "string_sub_type": lambda _: "must be text",
    "string_too_short": _too_short,
    "string_too_long": lambda c: f"must be at most {_length(c, 'max_length'):,} characters",
    "string_pattern_mismatch": lambda _: "is not in the expected form",
    "int_type": lambda _: _WHOLE,
    "int_parsing": lambda _: _WHOLE,
    "int_from_float": lambda _: _WHOLE,
    "int_parsing_size": lambda _: "is too big a number",
    "float_type": lambda _: _NUMBER,
    "float_parsing": lambda _: _NUMBER,
    "finite_number": lambda _: _NUMBER,
    "decimal_type": lambda _: _NUMBER,
    "decimal_parsing": lambda _: _NUMBER,
    "decimal_max_digits": lambda c: f"must have at most {plural(c['max_digits'], 'digit')}",
    "decimal_max_places": lambda c: (
        "must be a whole number"
        if c["decimal_places"] == 0
        else f"must have at most {plural(c['decimal_places'], 'decimal')}"
    ),
    "decimal_whole_digits": lambda c: (
        f"must have at most {plural(c['whole_digits'], 'digit')} before the decimal point"
    ),
    "multiple_of": lambda c: f"must be a multiple of {_number(c['multiple_of'])}",
    "greater_than": lambda c: f"must be more than {_number(c['gt'])}",
    "greater_than_equal": lambda c: f"must be {_number(c['ge'])} or more",
    "less_than": lambda c: f"must be less than {_number(c['lt'])}",
    "less_than_equal": lambda c: f"must be {_number(c['le'])} or less",
    "bool_type": lambda _: "must be true or false",
    "bool_parsing": lambda _: "must be true or false",
    "enum": _one_of,
    "literal_error": _one_of,
    "list_type": lambda _: "must be a list",
    "tuple_type": lambda _: "must be a list",
    "set_type": lambda _: "must be a list",
    "frozen_set_type": lambda _: "must be a list",
    "too_short": _too_few,
    "too_long": lambda c: f"must have at most {plural(_length(c, 'max_length'), 'item')}",
    "dict_type": lambda _: "must be a JSON object",
    "dict_parsing": lambda _: "must be a JSON object",
    "model_type": lambda _: "must be a JSON object",
    "model_attributes_type": lambda _: "must be a JSON object",
    "extra_forbidden": lambda _: "is not a field this request takes",
    "json_invalid": lambda c: f"is not valid JSON ({c.get('error', 'unreadable')})",
    "json_type": lambda _: "must be JSON text",
    "datetime_type": lambda _: "must be " + _EXAMPLES["datetime"],
    "datetime_parsing": lambda _: "must be " + _EXAMPLES["datetime"],
    "datetime_from_date_parsing": lambda _: "must be " + _EXAMPLES["datetime"],
    "datetime_object_invalid": lambda _: "must be " + _EXAMPLES["datetime"],
    "timezone_aware": lambda _: "must include its time zone, such as Z or +01:00",
    "timezone_naive": lambda _: "must not include a time zone",
    "datetime_past": lambda _: "must be in the past",
    "datetime_future": lambda _: "must be in the future",
    "date_type": lambda _: "must be " + _EXAMPLES["date"],
    "date_parsing": lambda _: "must be " + _EXAMPLES["date"],
    "date_from_datetime_parsing": lambda _: "must be " + _EXAMPLES["date"],
    "date_from_datetime_inexact": lambda _: "must be a date without a time",
    "time_type": lambda _: "must be " + _EXAMPLES["time"],
    "time_parsing": lambda _: "must be " + _EXAMPLES["time"],
    "time_delta_type": lambda _: "must be a duration in seconds",
    "time_delta_parsing": lambda _: "must be a duration in seconds",
    "uuid_type": lambda _: "must be a UUID",
    "uuid_parsing": lambda _: "must be a UUID",
    "url_type": lambda _: "must be a web address",
    "url_parsing": lambda _: "must be a web address, such as https://example.com",
    "url_scheme": lambda _: "must be an http or https address",
    "none_required": lambda _: "must be empty (null)",
    "bytes_type": lambda _: "must be text",
    "union_tag_invalid": lambda c: "must be one of: " + str(c.get("expected_tags", "")),
    "union_tag_not_found": lambda c: f"needs its {c.get('discriminator', 'kind')}",
}

_PHRASES = (
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
    ("Field required", "is required"),
    ("Input should be", "must be"),
    ("String should have", "must have"),
    ("String should", "must"),
    ("List should have", "must have"),
    ("Value should have", "must have"),
    ("Value should", "must"),
    ("Dictionary should", "must"),
    ("Decimal input should", "must"),
    ("JSON input should", "must"),
    ("Extra inputs are not permitted", "is not a field this request takes"),
)


def _rephrased(message: str) -> str:
    """pydantic's phrasing turned around, for an error type not named above."""
    for theirs, ours in _PHRASES:
        if message.startswith(theirs):
            return ours + message.removeprefix(theirs)
    return message
