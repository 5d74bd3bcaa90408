"""Contacts' free attributes (`plan`, `loyalty_points`, …): how many, and how large.

Without caps one contact could carry megabytes, which every segment, preview and export then
reads. The caps are generous for what attributes are for (a value to merge into a text or to
segment on); the API refuses more with a 400 naming the attribute, an import refuses the row.
Free of SQLAlchemy: import worker processes use it too.
"""

from __future__ import annotations

from collections.abc import Mapping

from textcast.domain.errors import FieldProblem

MAX_ATTRIBUTES = 50
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 1_000


def attribute_problems(attributes: Mapping[str, object]) -> list[FieldProblem]:
    problems = []
    if len(attributes) > MAX_ATTRIBUTES:
        problems.append(
            FieldProblem("attributes", f"at most {MAX_ATTRIBUTES} attributes per contact")
        )
    for key, value in list(attributes.items())[: MAX_ATTRIBUTES + 1]:
        where = f"attributes.{key[:MAX_KEY_CHARS]}"
        if len(key) > MAX_KEY_CHARS:
            problems.append(
                FieldProblem(where + "…", f"names have at most {MAX_KEY_CHARS} characters")
            )
        elif not key.strip():
            problems.append(FieldProblem("attributes", "an attribute needs a name"))
        if not isinstance(value, str | int | float | bool) and value is not None:
            problems.append(FieldProblem(where, "must be a string, number, boolean or null"))
        elif isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            problems.append(FieldProblem(where, value_too_long(len(value))))
    return problems


def value_too_long(chars: int) -> str:
    return f"{chars:,} characters where at most {MAX_VALUE_CHARS:,} are allowed"
