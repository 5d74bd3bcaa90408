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
from sqlalchemy import select

from textcast.cli.render import Snapshot, counts_table, follow
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import api_keys, users
from textcast.domain.accounts.permissions import Scope
from textcast.models import Role, User
from textcast.simulator import SimulatorConfig
from textcast.web.app import create_app

DEMO_USER = "demo@textcast.local"
DEMO_BODY = (
    "Hi! Our spring sale starts today: 20% off everything until Sunday. Reply STOP to opt out."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def demo_numbers(count: int) -> list[str]:
    """Fictional North American numbers in 555 exchanges, one per recipient."""
    return [f"+1201{555 + i // 10_000:03d}{i % 10_000:04d}" for i in range(count)]


async def run_demo(console: Console, recipients: int, database_url: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="textcast-demo-") as folder:
        return await _serve_and_run(console, recipients, database_url, Path(folder))


async def _serve_and_run(
    console: Console, recipients: int, database_url: str | None, folder: Path
) -> int:
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
        # Simulated phones have no bedtime: the demo runs at any hour. Real campaigns keep
        # QUIET_HOURS and the legal limits.
        quiet_hours="00:00-24:00",
        quiet_hours_rules=dict.fromkeys(("US", "US-FL", "US-OK"), "00:00-24:00"),
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
    headers = {"Authorization": f"Bearer {_demo_key(settings.database_url)}"}
    try:
        async with httpx.AsyncClient(
            base_url=settings.public_url, timeout=30, headers=headers
        ) as client:
            return await _campaign(console, client, recipients)
    finally:
        server.should_exit = True
        await serving


def _demo_key(database_url: str) -> str:
    """An API key for the demo's own requests, of a demo admin made for the purpose."""
    database = Database(database_url)
    try:
        with database.write() as session:
            owner = session.scalar(select(User).where(User.email == DEMO_USER))
            if owner is None:
                owner = users.create_user(session, DEMO_USER, users.generate_password(), Role.ADMIN)
            return api_keys.create_key(session, owner, "demo", frozenset({Scope.ADMIN})).secret
    finally:
        database.dispose()


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

    async def read() -> Snapshot:
        state = (await client.get(f"/api/v1/campaigns/{campaign_id}")).json()
        return Snapshot(
            campaign_id, state["status"], state["counts"], state["total"], state["final"]
        )

    snapshot = await follow(console, read)
    seconds = time.monotonic() - started
    console.print(
        counts_table(snapshot, f"Campaign {campaign_id}: every message final after {seconds:.1f}s")
    )
    ledger = (await client.get("/simulator/_simulator/ledger")).json()
    console.print(
        f"Simulator ledger: {ledger['batches']} batches, {ledger['accepted_recipients']:,} "
        f"recipients accepted, {len(ledger['duplicates'])} accepted twice."
    )
    return 0
