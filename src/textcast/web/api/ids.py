"""Record ids as the API takes them: what the database can hold, so a wild one is a 4xx.

Ids are BIGINT on PostgreSQL and INTEGER on SQLite, both signed 64-bit: a larger number
overflows in the driver instead of finding nothing.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""In a path or a query string."""

IdIn = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
"""In a JSON body: a number, never `true` or `"3"`."""


def parse_id(text: str) -> int | None:
    """An id from a page's query string, leniently: anything that is not one is None."""
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None
