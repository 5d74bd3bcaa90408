"""`textcast demo`: a campaign end to end on SQLite and the simulator, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from textcast.config import load_settings
from textcast.simulator import SimulatorConfig
from textcast.web.app import create_app

DEMO_BODY = (
    "Hi! Our spring sale starts today: 20% off everything until Sunday. Reply STOP to opt out."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def demo_numbers(count: int) -> list[str]:
    """Fictional North American numbers (555 exchanges), one per recipient."""
    return [f"+1201555{i:04d}" if i < 10_000 else f"+1202555{i - 10_000:04d}" for i in range(count)]


async def run_demo(console: Console, recipients: int, database_url: str | None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="textcast-demo-"))
    port = free_port()
    settings = load_settings(
        database_url=database_url or f"sqlite:///{folder / 'demo.db'}",
        host="127.0.0.1",
        port=port,
        base_url=None,
        sinch_service_plan_id=None,
        sinch_api_token=None,
        sinch_base_url=None,
        send_rate=1000,
    )
    simulator = SimulatorConfig(dispatch_delay=0.2, final_delay=0.5, seed=7)
    app = create_app(settings, simulator=True, simulator_config=simulator)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            return 1
        await asyncio.sleep(0.05)
    console.print(
        f"[bold yellow]SIMULATED SINCH[/]: {recipients:,} fictional recipients, "
        f"database {settings.database_url}, server {settings.public_url}"
    )
    try:
        async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as client:
            return await _campaign(console, client, recipients)
    finally:
        server.should_exit = True
        await serving


async def _campaign(console: Console, client: httpx.AsyncClient, recipients: int) -> int:
    created = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "Demo: spring sale",
            "body": DEMO_BODY,
            "recipients": demo_numbers(recipients),
        },
    )
    created.raise_for_status()
    campaign_id = created.json()["id"]
    (await client.post(f"/api/v1/campaigns/{campaign_id}/send")).raise_for_status()
    started = time.monotonic()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("sending", total=recipients)
        while True:
            state = (await client.get(f"/api/v1/campaigns/{campaign_id}")).json()
            counts = state["counts"]
            label = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
            progress.update(
                task, completed=state["final"], description=f"campaign {campaign_id}: {label}"
            )
            if state["final"] >= state["total"]:
                break
            await asyncio.sleep(0.25)
    ledger = (await client.get("/simulator/_simulator/ledger")).json()
    _report(console, state, ledger, time.monotonic() - started)
    return 0


def _report(
    console: Console, state: dict[str, object], ledger: dict[str, object], seconds: float
) -> None:
    table = Table(title=f"Campaign {state['id']} ({state['status']}) after {seconds:.1f}s")
    table.add_column("status")
    table.add_column("messages", justify="right")
    counts = state["counts"]
    assert isinstance(counts, dict)
    for status, n in sorted(counts.items(), key=lambda item: -item[1]):
        table.add_row(status, f"{n:,}")
    table.add_row("[bold]total", f"[bold]{state['total']:,}")
    console.print(table)
    console.print(
        f"Simulator ledger: {ledger.get('batches')} batches, {ledger.get('accepted_recipients')} "
        f"recipients accepted, {len(ledger.get('duplicates') or [])} duplicates."  # type: ignore[arg-type]
    )
