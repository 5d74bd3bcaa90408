"""What the API takes as text: anything but the NUL character, which PostgreSQL text cannot hold.

Refused on both engines alike, as a 400 naming the field, rather than a 500 from the driver.
"""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, BaseModel, field_validator
from pydantic_core import PydanticCustomError

NUL = "\x00"


def refuse_nul(value: Any) -> Any:
    """`value` unchanged, unless a string in it (a key or a value, at any depth) holds NUL."""
    if (where := _nul_in(value, "")) is not None:
        at = f" (at {where})" if where else ""
        raise PydanticCustomError(
            "nul_character", "must not contain a NUL character{at}", {"at": at}
        )
    return value


NoNul = AfterValidator(refuse_nul)
"""For a query or form parameter: `Annotated[str | None, Query(), NoNul]`."""


class Input(BaseModel):
    """A request body: every field goes through `refuse_nul`."""

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


def _nul_in(value: Any, path: str) -> str | None:
    """Where in `value` a NUL character is (`""` for `value` itself), or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return f"{path}.{key!r}".lstrip(".")
            if (found := _nul_in(item, f"{path}.{key}".lstrip("."))) is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := _nul_in(item, f"{path}[{index}]")) is not None:
                return found
    return None
