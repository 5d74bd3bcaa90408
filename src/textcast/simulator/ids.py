"""Sinch-shaped identifiers and timestamps."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(at: float | None = None) -> str:
    """A 26-character ULID: 48-bit milliseconds then 80 random bits, Crockford Base32."""
    millis = int((time.time() if at is None else at) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def format_timestamp(at: float) -> str:
    """ISO-8601 UTC with milliseconds, as Sinch writes `created_at`, `at` and friends."""
    millis = round(at * 1000)
    seconds, fraction = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:03d}Z"


def format_whole_seconds(at: float) -> str:
    # Operator receipts carry coarse times; Sinch shows them without milliseconds.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(at)))


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch; naive times are taken as UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
