"""GSM-7 versus UCS-2 and SMS part counting, as Sinch counts them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these is sent as ESC + character, so it costs two septets.
GSM7_EXTENSION = frozenset("|^€{}[]~\\\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: Encoding
    length: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    parts: int
    remaining: int
    """Characters (septets or code units) left before the next part starts."""


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segment(text: str) -> SegmentInfo:
    if is_gsm7(text):
        length = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return _count(Encoding.GSM7, length, GSM7_SINGLE, GSM7_PART)
    units = len(text.encode("utf-16-le")) // 2
    return _count(Encoding.UCS2, units, UCS2_SINGLE, UCS2_PART)


def _count(encoding: Encoding, length: int, single: int, per_part: int) -> SegmentInfo:
    if length <= single:
        return SegmentInfo(encoding, length, 1, single - length)
    parts = -(-length // per_part)
    return SegmentInfo(encoding, length, parts, parts * per_part - length)
