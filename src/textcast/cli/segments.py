"""`textcast segments …`: the saved segments, each with its rules in words and its size now."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from textcast.cli.common import domain_errors, open_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from textcast.models import Segment

segments_app = typer.Typer(help="Segments: saved filters over contacts.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class Shown:
    """A segment as the commands show it."""

    id: int
    name: str
    description: str | None
    """The rules in words; None when they no longer pass."""
    contacts: int | None
    subscribed: int | None
    problems: list[str]
    rules: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "valid": not self.problems,
            "description": self.description,
            "contacts": self.contacts,
            "subscribed": self.subscribed,
            "problems": self.problems,
            "rules": self.rules,
        }


def _shown(session: Session, segment: Segment) -> Shown:
    from textcast.domain.audience import segments
    from textcast.domain.audience.segment_words import describe

    problems = segments.check_rules(session, segment.rules)
    if problems:
        return Shown(
            segment.id,
            segment.name,
            None,
            None,
            None,
            [f"{p.field}: {p.message}" for p in problems],
            segments.shown_rules(segment),
        )
    total, subscribed = segments.segment_size(session, segment.id)
    words = describe(session, segment.rules)
    return Shown(segment.id, segment.name, words, total, subscribed, [], segment.rules)


@segments_app.command("list")
def segments_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every segment with its rules in words and how many contacts it matches now."""
    from rich.table import Table

    from textcast.domain.audience import segments

    _, database = open_database()
    with database.read() as session:
        shown = [_shown(session, s) for s in segments.list_segments(session)]
    if as_json:
        print(json.dumps([s.as_json() for s in shown], indent=2, ensure_ascii=False))
        return
    table = Table("id", "name", "who is in it", "contacts", "subscribed")
    for s in shown:
        words = s.description or "[red]cannot be used until its rules are fixed[/]"
        sizes = ("", "") if s.contacts is None else (f"{s.contacts:,}", f"{s.subscribed:,}")
        table.add_row(str(s.id), s.name, words, *sizes)
    Console().print(table)


@segments_app.command("show")
def segments_show(
    segment_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """One segment: its rules in words, and how many contacts it matches now."""
    from textcast.domain.audience import segments

    _, database = open_database()
    with domain_errors(), database.read() as session:
        shown = _shown(session, segments.get_segment(session, segment_id))
    if as_json:
        print(json.dumps(shown.as_json(), indent=2, ensure_ascii=False))
        return
    out = Console()
    out.print(f"segment {shown.id}: {shown.name}", markup=False)
    if shown.description is None:
        out.print("cannot be used until its rules are fixed:", markup=False)
        for problem in shown.problems:
            out.print(f"  {problem}", markup=False)
        raise typer.Exit(1)
    out.print(shown.description, markup=False)
    out.print(f"{shown.contacts:,} contacts match now, {shown.subscribed:,} of them subscribed")
