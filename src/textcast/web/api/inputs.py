"""What the API takes as text: anything but the NUL character, which PostgreSQL text cannot hold.

Refused on both engines alike, as a 400 naming the field, rather than a 500 from the driver.
A moment in a query (`IsoOnly`) is ISO 8601 text, never a bare number.
"""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, field_validator
from pydantic_core import PydanticCustomError

NUL = "\x00"
SHOWN_PATH = 200
"""Characters of the NUL's path named in the answer: a deep one could fill it."""


def refuse_nul(value: Any) -> Any:
    """`value` unchanged, unless a string in it (a key or a value, at any depth) holds NUL."""
    if (where := _nul_in(value, "")) is not None:
        if len(where) > SHOWN_PATH:
            where = where[:SHOWN_PATH] + "..."
        at = f" (at {where})" if where else ""
        raise PydanticCustomError(
            "nul_character", "must not contain a NUL character{at}", {"at": at}
        )
    return value


NoNul = AfterValidator(refuse_nul)
"""For a query or form parameter: `Annotated[str | None, Query(), NoNul]`."""


def iso_only(value: object) -> object:
    """An ISO 8601 text; pydantic alone would also read a bare number as a Unix time."""
    if value is None:
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-11-27T09:00:00Z")
    return value


IsoOnly = BeforeValidator(iso_only)
"""For a datetime query parameter: `Annotated[datetime | None, IsoOnly, Query()]`."""


class Input(BaseModel):
    """A request body: every field goes through `refuse_nul`."""

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


def _nul_in(value: Any, path: str) -> str | None:
    """Where in `value` a NUL character is (`""` for `value` itself), or None.

    Walked depth first with a stack of its own rather than by recursion: a body nested a
    few hundred levels deep still parses, and must be a 400 here, not a RecursionError."""
    pending: list[tuple[bool, Any, str]] = [(False, value, path)]
    while pending:
        is_key, item, where = pending.pop()
        if is_key or isinstance(item, str):
            if NUL in str(item):
                return where
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                pending.append((False, child, f"{where}.{key}".lstrip(".")))
                pending.append((True, key, f"{where}.{key!r}".lstrip(".")))
        elif isinstance(item, list | tuple):
            for index in reversed(range(len(item))):
                pending.append((False, item[index], f"{where}[{index}]"))
    return None
