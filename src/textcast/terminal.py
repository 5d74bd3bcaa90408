"""Live campaign progress and final counts in the terminal (CLI and demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


@dataclass(frozen=True, slots=True)
class Snapshot:
    campaign_id: int
    status: str
    counts: dict[str, int]
    total: int
    final: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.final >= self.total


async def follow(
    console: Console, read: Callable[[], Awaitable[Snapshot]], every: float = 0.25
) -> Snapshot:
    """A progress bar of final messages, refreshed until every message is final."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("starting", total=None)
        while True:
            snapshot = await read()
            label = ", ".join(f"{status} {n:,}" for status, n in sorted(snapshot.counts.items()))
            progress.update(
                task,
                total=snapshot.total,
                completed=snapshot.final,
                description=f"campaign {snapshot.campaign_id} ({snapshot.status}): {label}",
            )
            if snapshot.done:
                return snapshot
            await asyncio.sleep(every)


def counts_table(snapshot: Snapshot, title: str) -> Table:
    table = Table(title=title)
    table.add_column("status")
    table.add_column("messages", justify="right")
    for status, n in sorted(snapshot.counts.items(), key=lambda item: -item[1]):
        table.add_row(status, f"{n:,}")
    table.add_row("[bold]total", f"[bold]{snapshot.total:,}")
    return table
