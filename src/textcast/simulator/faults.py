"""Fault injection around the xms API: errors, throttling, lost answers, resets and latency.

Implemented as ASGI middleware so a fault can act where a real failure would: before the batch
is processed (5xx, 429: nothing accepted) or after it (held response, broken connection: the
batch exists but the client never hears so).
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textcast.simulator.callbacks import encode_payload
from textcast.simulator.state import SimulatorState

log = logging.getLogger("textcast.simulator.faults")

SEND_PATH = re.compile(r"/xms/v1/[^/]+/batches/?")


class SimulatedConnectionReset(Exception):
    """Raised after the response has started, so the server drops the connection mid-answer."""


class DropSimulatedResets(logging.Filter):
    """Keeps the server's error log free of the tracebacks our own resets cause."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, SimulatedConnectionReset)


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DropSimulatedResets) for f in logger.filters):
        logger.addFilter(DropSimulatedResets())


class FaultInjector:
    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/xms/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        faults = state.faults
        low, high = faults.latency_range
        if high > 0:
            await asyncio.sleep(state.fault_rng.uniform(low, high))
        targeted = scope["method"] == "POST" and SEND_PATH.fullmatch(scope["path"])
        if faults.apply_to_reads and scope["method"] == "GET":
            targeted = True
        kind = state.draw_fault() if targeted else None
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "error_5xx":
            await self._server_error(send)
        elif kind == "error_429":
            await self._too_many_requests(send)
        elif kind == "accept_then_timeout":
            await self._hold_answer(scope, receive, send)
        else:
            await self._reset(scope, receive, send)

    async def _server_error(self, send: Send) -> None:
        if self.state.fault_rng.random() < 0.5:
            status, code, text = 500, "internal_error", "Internal server error."
        else:
            status, code, text = 503, "service_unavailable", "Service temporarily unavailable."
        await _respond(send, status, {"code": code, "text": text})

    async def _too_many_requests(self, send: Send) -> None:
        seconds = self.state.faults.retry_after
        value = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
        body = {"code": "too_many_requests", "text": "Too many outstanding requests."}
        await _respond(send, 429, body, [(b"retry-after", value.encode())])

    async def _hold_answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages = await _capture(self.app, scope, receive)
        log.debug("holding an answer for up to %.1fs", self.state.faults.hang_seconds)
        await self.state.hold(self.state.faults.hang_seconds)
        for message in messages:
            await send(message)

    async def _reset(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500
        if self.state.fault_rng.random() < self.state.faults.reset_after_processing:
            messages = await _capture(self.app, scope, receive)
            status = next((m["status"] for m in messages if "status" in m), 500)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        raise SimulatedConnectionReset


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    return messages


async def _respond(
    send: Send, status: int, body: dict[str, str], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = encode_payload(dict(body))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
