"""The real thing on real ports: the simulator, and textcast serving API + webhooks + dispatcher."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from tests.factories import authorize
from tests.servers import free_port, serving

from textcast.config import load_settings
from textcast.simulator import RunningSimulator, SimulatorConfig, running_simulator
from textcast.web.app import create_app


@dataclass
class Stack:
    simulator: RunningSimulator
    api: httpx.Client

    def campaign_done(self, campaign_id: int) -> bool:
        state = self.api.get(f"/api/v1/campaigns/{campaign_id}").json()
        return state["status"] == "completed"

    def wait_until_final(self, campaign_id: int, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            state: dict[str, Any] = self.api.get(f"/api/v1/campaigns/{campaign_id}").json()
            if state["total"] and state["final"] == state["total"]:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"campaign {campaign_id} not final after {timeout}s: {state['counts']}"
                )
            time.sleep(0.1)


@contextmanager
def sending_stack(
    database_url: str, simulator: SimulatorConfig, *, inbound: bool = False, **settings: Any
) -> Iterator[Stack]:
    """`inbound=True`: the simulator posts injected MO messages to the app's inbound webhook.

    With Sinch credentials, webhooks need an authentication: unless the settings name another
    one, the simulator signs its callbacks (with its own secret, or one made here)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    if inbound:
        url = f"{public}/api/webhooks/inbound"
        simulator = dataclasses.replace(simulator, inbound_callback_url=url)
    other_authentication = ("webhook_basic_auth", "webhook_path_token", "webhooks_unauthenticated")
    if simulator.webhook_secret is None and not any(settings.get(n) for n in other_authentication):
        simulator = dataclasses.replace(simulator, webhook_secret=secrets.token_urlsafe(24))
    with running_simulator(simulator) as sim:
        config = load_settings(
            database_url=database_url,
            sinch_service_plan_id=simulator.service_plan_id,
            sinch_api_token=simulator.api_token,
            sinch_base_url=sim.base_url,
            sinch_webhook_secret=simulator.webhook_secret,
            base_url=public,
            port=port,
            **{"send_rate": 0, "dispatcher_poll_seconds": 0.05, **settings},
        )
        with (
            serving(create_app(config), port) as url,
            httpx.Client(base_url=url, timeout=30) as api,
        ):
            authorize(api, database_url)
            yield Stack(sim, api)
