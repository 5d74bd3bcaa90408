"""A running process follows settings changed elsewhere (another node, the command line):
within `SETTINGS_CHECK_SECONDS`, its policy is rebuilt and the dispatcher takes it at its next
tick (the send rate, the send windows), without a restart."""

from __future__ import annotations

import asyncio
import time

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts.audit import CLI
from textcast.runtime import SETTINGS_CHECK_SECONDS, Runtime
from textcast.services import settings as settings_services
from textcast.simulator import SimulatorConfig, running_simulator
from textcast.sinch.client import SinchClient
from textcast.sinch.provider import SinchProvider


def test_the_dispatcher_takes_settings_changed_on_another_node(database_url: str) -> None:
    environment = load_settings(database_url=database_url, secret_key="tests", send_rate=30)
    database = Database(database_url)
    config = SimulatorConfig(service_plan_id="simulated", api_token="simulated-token")

    async def scenario(base_url: str) -> None:
        runtime = Runtime(environment, database)
        provider = SinchProvider(SinchClient(base_url, "simulated", "simulated-token"))
        async with runtime.running(dispatch=True, provider=provider):
            dispatcher = runtime.dispatcher
            assert dispatcher is not None
            assert dispatcher.bucket.rate == 30
            # Another node (here the command line's use case) changes the settings.
            await asyncio.to_thread(
                settings_services.change,
                database,
                CLI,
                environment,
                {"SEND_RATE": 5, "QUIET_HOURS": "09:00-17:00"},
            )
            deadline = time.monotonic() + SETTINGS_CHECK_SECONDS + 5
            while dispatcher.bucket.rate != 5:
                assert time.monotonic() < deadline, "the dispatcher never took the new rate"
                dispatcher.wake()
                await asyncio.sleep(0.05)
            assert dispatcher.config.policy is runtime.policy
            assert dispatcher.config.rate == 5
            assert str(runtime.policy.rules.default) == "09:00-17:00"
            assert runtime.settings.send_rate == 5
            assert runtime.environment.send_rate == 30

    try:
        with running_simulator(config) as simulator:
            asyncio.run(scenario(simulator.base_url))
    finally:
        database.dispose()
