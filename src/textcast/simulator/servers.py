"""Serving the simulator on a real port: in a background thread, in the caller's loop, blocking."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from textcast.simulator.app import create_app
from textcast.simulator.config import Faults, Outcome, SimulatorConfig
from textcast.simulator.faults import install_log_filter
from textcast.simulator.ledger import AcceptedBatch, LedgerReport
from textcast.simulator.state import SimulatorState

T = TypeVar("T")

STARTUP_TIMEOUT = 10.0
CALL_TIMEOUT = 10.0


class RunningSimulator:
    """A simulator listening on `base_url`, with thread-safe access to its state.

    The methods run on the server's event loop, so they are safe from any thread; `state` is the
    live object for code already running on that loop.
    """

    def __init__(self, app: Starlette, host: str, port: int, loop: asyncio.AbstractEventLoop):
        self.app = app
        self.host = host
        self.port = port
        self.state: SimulatorState = app.state.simulator
        self._loop = loop

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/xms/v1/{self.state.config.service_plan_id}"

    def call(self, operation: Callable[[], T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return operation()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(operation())
            except BaseException as error:
                future.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=CALL_TIMEOUT)

    def ledger(self, *, full: bool = True) -> LedgerReport:
        return self.call(lambda: self.state.ledger_report(full=full))

    def inbound_acks(self) -> list[dict[str, Any]]:
        """Each acknowledged inbound callback, with its sender's ledger count at that moment."""
        return self.call(lambda: list(self.state.inbound_acks))

    def accepted_batches(self) -> list[AcceptedBatch]:
        """Every accepted batch in acceptance order (see `Ledger.history`)."""
        return self.call(lambda: list(self.state.ledger.history))

    def stats(self) -> dict[str, Any]:
        return self.call(self.state.stats)

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> Faults:
        return self.call(lambda: self.state.set_faults(faults))

    def set_number_outcomes(self, chosen: Mapping[str, Outcome]) -> dict[str, Outcome]:
        return self.call(lambda: self.state.set_number_outcomes(chosen))

    def inject_inbound(
        self,
        from_: str,
        to: str,
        body: str,
        client_reference: str | None = None,
        *,
        operator_id: str | None = None,
    ) -> dict[str, Any]:
        return self.call(
            lambda: self.state.inject_inbound(
                from_, to, body, client_reference, operator_id=operator_id
            )
        )

    def reset(self) -> None:
        self.call(self.state.reset)


def _server(app: Starlette, host: str, port: int, log_level: str = "warning") -> uvicorn.Server:
    install_log_filter()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # paths carry phone numbers
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


def _bound_port(server: uvicorn.Server) -> int:
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


def _wait_until_answering(host: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def running_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningSimulator]:
    """Serve the simulator under uvicorn in a background thread for the duration of the block."""
    app = create_app(config)
    server = _server(app, host, port)
    # Server.run picks uvicorn's loop (uvloop when installed), like `textcast simulator` does.
    thread = threading.Thread(target=server.run, daemon=True, name="sinch-simulator")
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the Sinch simulator did not start on {host}:{port}")
        time.sleep(0.005)
    loop = app.state.simulator.loop
    if loop is None:  # the lifespan sets it before the server reports started
        raise RuntimeError("the Sinch simulator started without its event loop")
    handle = RunningSimulator(app, host, _bound_port(server), loop)
    try:
        _wait_until_answering(host, handle.port, deadline)
        yield handle
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(handle.state.release_held)
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


@asynccontextmanager
async def running_simulator_async(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """The same, served by the caller's event loop (the state is then safe to use directly)."""
    app = create_app(config)
    server = _server(app, host, port)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the Sinch simulator did not start on {host}:{port}")
        await asyncio.sleep(0.005)
    handle = RunningSimulator(app, host, _bound_port(server), asyncio.get_running_loop())
    try:
        yield handle
    finally:
        handle.state.release_held()
        server.should_exit = True
        await task


def serve_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 8765
) -> None:
    """Serve until interrupted (the `textcast simulator` command)."""
    _server(create_app(config), host, port, log_level="info").run()
