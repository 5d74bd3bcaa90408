"""Merge fields in campaign bodies: `{{ first_name }}`, `{{ first_name | default("there") }}`.

The syntax is deliberately tiny: a field name, optionally one `default("...")`. Anything else
between `{{` and `}}` is an error naming its position. A body is rendered here (for part
counting, the plan and its sample) and sent as Sinch placeholders: `${first_name}` in the body
plus one `parameters` entry per field, so one batch of 1000 carries 1000 different texts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from textcast.domain.errors import FieldProblem

BUILT_IN_FIELDS = ("phone", "first_name", "last_name", "country")
EVENT_FIELD_PREFIX = "event."
"""`{{ event.cart_url }}`: a property of the event that started a flow's run (flows only)."""
# Sinch's parameter keys: [A-Za-z0-9_.-], at most 16 characters.
_SINCH_KEY = re.compile(r"[A-Za-z0-9_.-]{1,16}")
_FIELD = re.compile(
    r"""\{\{\s*
        (?P<name>(?:event\.)?[A-Za-z_][A-Za-z0-9_]*)\s*
        (?:\|\s*default\(\s*(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)')\s*\)\s*)?
        \}\}""",
    re.VERBOSE,
)
MAX_VALUE_CHARS = 160
"""Sinch caps each parameter value."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    default: str | None
    key: str
    """Its Sinch parameter key."""


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    pieces: tuple[str | Field, ...]
    """Literal text and fields, in order."""

    @property
    def fields(self) -> tuple[Field, ...]:
        """Each field once, in order of first appearance."""
        return _fields(self.pieces)

    @property
    def is_static(self) -> bool:
        return not any(isinstance(piece, Field) for piece in self.pieces)

    def values_for(self, data: Mapping[str, Any]) -> dict[str, str] | None:
        """This recipient's value per Sinch key; None when a field has neither value nor default."""
        values: dict[str, str] = {}
        for field in self.fields:
            value = _text(data.get(field.name))
            if value is None:
                if field.default is None:
                    return None
                value = field.default
            values[field.key] = value[:MAX_VALUE_CHARS]
        return values

    def missing(self, data: Mapping[str, Any]) -> list[str]:
        """The fields that `values_for` finds without value nor default, in order."""
        return [
            field.name
            for field in self.fields
            if field.default is None and _text(data.get(field.name)) is None
        ]

    def render(self, values: Mapping[str, str]) -> str:
        """The text a recipient receives, from `values_for`'s result."""
        return "".join(
            piece if isinstance(piece, str) else values[piece.key] for piece in self.pieces
        )

    def sinch_body(self) -> str:
        """The body with `${key}` placeholders, for Sinch's `parameters`."""
        return "".join(
            piece if isinstance(piece, str) else f"${{{piece.key}}}" for piece in self.pieces
        )

    def with_fields_for(self, urls: list[str], name: str = "link") -> Template:
        """Each occurrence of one of `urls` in the literal text becomes a field `link.N`
        (N: its index in `urls`), whose value is given per recipient (a short link)."""
        if not urls:
            return self
        pattern = re.compile("|".join(re.escape(u) for u in sorted(urls, key=len, reverse=True)))
        pieces: list[str | Field] = []
        for piece in self.pieces:
            if isinstance(piece, Field):
                pieces.append(piece)
                continue
            position = 0
            for match in pattern.finditer(piece):
                if match.start() > position:
                    pieces.append(piece[position : match.start()])
                key = f"{name}.{urls.index(match.group())}"
                pieces.append(Field(key, None, key))
                position = match.end()
            if position < len(piece):
                pieces.append(piece[position:])
        return Template(self.source, tuple(pieces))


def parse(body: str, field: str = "body") -> Template:
    """Raises `TemplateError` naming every malformed placeholder."""
    pieces: list[str | Field] = []
    problems: list[FieldProblem] = []
    keys: dict[str, str] = {}
    position = 0
    for match in _FIELD.finditer(body):
        literal = body[position : match.start()]
        problems.extend(_stray_braces(literal, position, field))
        if literal:
            pieces.append(literal)
        name = match["name"]
        quoted = match["dq"] if match["dq"] is not None else match["sq"]
        default = None if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
        key = keys.setdefault(name, _sinch_key(name, len(keys)))
        pieces.append(Field(name, default, key))
        position = match.end()
    tail = body[position:]
    problems.extend(_stray_braces(tail, position, field))
    if tail:
        pieces.append(tail)
    if any(isinstance(p, Field) for p in pieces) and any(
        "${" in p for p in pieces if isinstance(p, str)
    ):
        problems.append(
            FieldProblem(field, "`${` is Sinch's placeholder syntax; it cannot appear as text")
        )
    if problems:
        raise TemplateError(problems)
    return Template(body, tuple(pieces))


def unknown_fields(template: Template, known: set[str], field: str = "body") -> list[FieldProblem]:
    return [
        FieldProblem(
            field,
            f"unknown merge field {f.name!r}; known: {', '.join(sorted(known)) or 'none'}",
        )
        for f in template.fields
        if f.name not in known
    ]


@lru_cache(maxsize=256)
def _fields(pieces: tuple[str | Field, ...]) -> tuple[Field, ...]:
    # Asked once per recipient by launch and plan: computed once per template.
    seen: dict[str, Field] = {}
    for piece in pieces:
        if isinstance(piece, Field):
            seen.setdefault(piece.key, piece)
    return tuple(seen.values())


class TemplateError(ValueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def _stray_braces(text: str, offset: int, field: str) -> list[FieldProblem]:
    problems = []
    for marker in ("{{", "}}"):
        index = text.find(marker)
        if index >= 0:
            problems.append(
                FieldProblem(
                    field,
                    f"malformed merge field at character {offset + index + 1}: write "
                    '`{{ name }}` or `{{ name | default("text") }}`',
                )
            )
    return problems


def _sinch_key(name: str, index: int) -> str:
    # A dot never starts a field name here, so a replacement key cannot collide with one.
    return name if _SINCH_KEY.fullmatch(name) else f"f.{index}"


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None
