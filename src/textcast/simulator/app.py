"""The simulator as one Starlette app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from textcast.simulator import control, xms_batches, xms_reports
from textcast.simulator.config import SimulatorConfig
from textcast.simulator.errors import ApiError, render_api_error
from textcast.simulator.faults import FaultInjector, install_log_filter
from textcast.simulator.state import SimulatorState


def create_app(config: SimulatorConfig | None = None) -> Starlette:
    state = SimulatorState(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_log_filter()
        state.ensure_running()
        try:
            yield
        finally:
            await state.stop()

    app = Starlette(
        routes=[*xms_batches.routes, *xms_reports.routes, *control.routes],
        middleware=[Middleware(FaultInjector, state=state)],
        exception_handlers={ApiError: render_api_error},
        lifespan=lifespan,
    )
    app.state.simulator = state
    return app
