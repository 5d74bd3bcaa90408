"""Shared pieces of the simulator tests: a fast config and a callback receiver on a real port."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from textcast.simulator import ALL_DELIVERED, SimulatorConfig

TOKEN = "simulated-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
PLAN = "/xms/v1/simulated"


def fast_config(**overrides: Any) -> SimulatorConfig:
    """Small delays and a compressed retry schedule so callback tests take milliseconds."""
    values: dict[str, Any] = {
        "queued_delay": 0.01,
        "dispatch_delay": 0.01,
        "final_delay": 0.05,
        "time_scale": 0.002,
        "outcomes": ALL_DELIVERED,
        "seed": 7,
    }
    values.update(overrides)
    return SimulatorConfig(**values)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records every POST; answers with queued statuses per path, then 200."""

    def __init__(self) -> None:
        self.calls: list[Received] = []
        self.answers: dict[str, list[int]] = {}
        self.base_url = ""
        routes = [Route("/{path:path}", self._receive, methods=["POST"])]
        self.app = Starlette(routes=routes)

    async def _receive(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        self.calls.append(
            Received(path, dict(request.headers), await request.body(), time.monotonic())
        )
        planned = self.answers.get(path)
        return Response(status_code=planned.pop(0) if planned else 200)

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str) -> list[Received]:
        return [call for call in self.calls if call.path == path]

    def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.calls)} callbacks")
            time.sleep(0.01)


@contextmanager
def serving_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    config = uvicorn.Config(
        receiver.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.base_url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
