"""A fake Sinch at the wire: an httpx.MockTransport handler that answers from a script and
records every request, so tests assert on what Sinch would have received."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

BASE_URL = "https://us.sms.api.sinch.com"
PLAN = "0123456789abcdef0123456789abcdef"
TOKEN = "tok-do-not-log-me"
PREFIX = f"/xms/v1/{PLAN}"

Reply = Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, headers=headers)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return reply


def fail(kind: type[httpx.TransportError]) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        raise kind("simulated", request=request)

    return reply


def batch_json(**overrides: Any) -> dict[str, Any]:
    batch = {
        "id": "01W4FFL35P4NC4K35SMSBATCH1",
        "to": ["12017777777"],
        "from": "12015555555",
        "canceled": False,
        "body": "Hello",
        "type": "mt_text",
        "created_at": "2024-06-06T09:22:14.304Z",
        "modified_at": "2024-06-06T09:22:14.304Z",
        "delivery_report": "per_recipient_final",
        "expire_at": "2024-06-09T09:22:14.304Z",
    }
    batch.update(overrides)
    return batch


def page_json(
    batches: list[dict[str, Any]], *, count: int | None = None, page: int = 0
) -> dict[str, Any]:
    return {
        "count": len(batches) if count is None else count,
        "page": page,
        "page_size": len(batches),
        "batches": batches,
    }


class FakeSinch:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: dict[tuple[str, str], list[Reply]] = {}

    def on(self, method: str, path: str, *replies: Reply) -> None:
        """Answers `method path` with `replies` in turn; the last one repeats."""
        self._script[(method, path)] = list(replies)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix(PREFIX)
        replies = self._script.get((request.method, path))
        if not replies:
            return httpx.Response(404)
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method and r.url.path.removeprefix(PREFIX) == path
        ]

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content)


class Sleeps:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
