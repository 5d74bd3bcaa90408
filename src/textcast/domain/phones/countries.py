"""Countries by name: the English name of a two-letter code, and the countries a number can
be in, for pickers and for rules read out in words.

The names come with the numbering plan's data (phonenumbers), so they cover every country a
contact can be placed in.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

MISSING = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}
"""Regions with numbers of their own but no name in the data."""


def country_name(code: str) -> str:
    """`France` for `FR` (any case); the code itself, upper-cased, when it has no name."""
    upper = code.upper()
    names = LOCALE_DATA.get(upper) or {}
    name = names.get("en", "")
    if name.startswith("*"):  # the same as another language's name
        name = names.get(name[1:], "")
    return name or MISSING.get(upper, upper)


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """Every country a number can belong to, as (code, name), by name."""
    codes = phonenumbers.SUPPORTED_REGIONS
    return tuple(sorted(((code, country_name(code)) for code in codes), key=lambda c: c[1]))
