"""How many SMS parts a body takes, counted the way Sinch documents it.

Kept inside the simulator on purpose: textcast's own counter is checked against this one, so
the two must not share code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# 3GPP TS 23.038 default alphabet (ESC 0x1B excluded: it only introduces extension characters).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sinch's list of extension characters; each costs an escape septet too. (Form feed is in the
# 3GPP table but not in Sinch's list, so it forces UCS-2 here.)
GSM_EXTENSION = frozenset("|^€{}[]~\\")
GSM_ALL = GSM_BASIC | GSM_EXTENSION

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


class Encoding(StrEnum):
    TEXT = "text"
    UNICODE = "unicode"


@dataclass(frozen=True, slots=True)
class Measure:
    encoding: Encoding
    units: int
    parts: int


def measure_body(body: str) -> Measure:
    chars = set(body)
    if chars <= GSM_ALL:
        units = len(body) + sum(body.count(c) for c in chars & GSM_EXTENSION)
        return Measure(Encoding.TEXT, units, _parts(units, GSM_SINGLE, GSM_MULTI))
    units = utf16_units(body)
    return Measure(Encoding.UNICODE, units, _parts(units, UCS2_SINGLE, UCS2_MULTI))


def utf16_units(text: str) -> int:
    # Characters outside the BMP (most emoji) take a surrogate pair: two UCS-2 units.
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def truncate_to_one_part(body: str) -> str:
    """The body `truncate_concat` sends: as much as fits in a single part."""
    encoding = measure_body(body).encoding
    limit = GSM_SINGLE if encoding is Encoding.TEXT else UCS2_SINGLE
    used = 0
    for index, char in enumerate(body):
        if encoding is Encoding.TEXT:
            cost = 2 if char in GSM_EXTENSION else 1
        else:
            cost = 2 if ord(char) > 0xFFFF else 1
        if used + cost > limit:
            return body[:index]
        used += cost
    return body


def _parts(units: int, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)
