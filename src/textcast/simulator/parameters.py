"""Sinch's per-recipient `${key}` substitution (docs/sinch.md, "Per-recipient parameters")."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")


class Template:
    """A body whose placeholders are filled per recipient.

    Placeholders naming no parameter stay as written; a named parameter with neither a value
    for the recipient nor a `default` leaves the recipient unmatched (Sinch code 405).
    """

    def __init__(self, body: str, parameters: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._pieces = PLACEHOLDER.split(body)  # literal, key, literal, key, ..., literal
        keys = {k for k in self._pieces[1::2] if k in parameters}
        self._values = {
            key: {n.removeprefix("+"): v for n, v in parameters[key].items() if n != "default"}
            for key in keys
        }
        self._defaults = {k: parameters[k]["default"] for k in keys if "default" in parameters[k]}
        self._needy = [k for k in keys if k not in self._defaults]

    @property
    def varies(self) -> bool:
        return bool(self._values)

    @property
    def always_matches(self) -> bool:
        return not self._needy

    def matches(self, recipient: str) -> bool:
        return all(recipient in self._values[key] for key in self._needy)

    def render(self, recipient: str) -> str | None:
        """The body for `recipient` (digits, no `+`), or None when a parameter is unmatched."""
        if not self._values:
            return self.body
        out = []
        for index, piece in enumerate(self._pieces):
            if index % 2 == 0:
                out.append(piece)
            elif piece not in self._values:
                out.append("${" + piece + "}")
            else:
                value = self._values[piece].get(recipient, self._defaults.get(piece))
                if value is None:
                    return None
                out.append(value)
        return "".join(out)
