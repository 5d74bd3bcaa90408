"""CSV that a spreadsheet opens as data, never as formulas; and the way back for imports.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula, even in a .csv file, and some skip a leading tab or carriage return first: an opt-out's
evidence `=HYPERLINK("https://evil.example", "click")` becomes a link in the marketer's sheet,
`=cmd|' /C calc'!A0` a prompt to run a program. Every CSV we write goes through `SpreadsheetWriter`,
which puts a single quote before any such text cell, as OWASP advises ("CSV injection"); the
spreadsheet shows the cell as text, without the quote.

There is no exception for phone numbers: an E.164 `+12015550100` is harmless arithmetic, but one
rule for every cell leaves no column to forget when a new one carries someone else's text, and a
spreadsheet then keeps the number as typed instead of turning it into 12015550100. Contact
imports read such cells back (`original_cell`), so our exports re-import as they were.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def spreadsheet_cell(value: object) -> object:
    """`value`, quoted when a spreadsheet would read it as a formula; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return ESCAPE + value
    return value


def original_cell(text: str) -> str:
    """A cell as it was before `spreadsheet_cell` quoted it: `'+1201…` is `+1201…` again."""
    if text.startswith(ESCAPE) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SpreadsheetWriter:
    """`csv.writer` whose every cell has been through `spreadsheet_cell`."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
