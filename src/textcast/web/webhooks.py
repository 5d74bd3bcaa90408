"""Sinch callbacks: authenticate, validate, store durably, then 2xx (DESIGN §5).

Sinch drops a callback answered with any 4xx other than 429, so 4xx is kept for requests
that must never be retried (bad signature, malformed body); anything we merely failed to
store is a 503, which Sinch retries.

The endpoints are plain ASGI, served ahead of FastAPI's routing and middleware: they are the
hot path (thousands of callbacks per second during a large campaign) and need none of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from textcast.domain.inbox import IncomingEvent, Outcome
from textcast.runtime import Runtime
from textcast.sinch.callbacks import CallbackParseError, SignatureError, verify_signature
from textcast.sinch.events import delivery_event, inbound_event
from textcast.web.group_commit import StorageUnavailable

log = logging.getLogger("textcast.webhooks")

DELIVERY_REPORTS_PATH = "/api/webhooks/delivery-reports"
INBOUND_PATH = "/api/webhooks/inbound"
Parse = Callable[[bytes, str | None], IncomingEvent]


class BodyTooLarge(Exception):
    pass


class WebhookEndpoint:
    def __init__(self, runtime: Runtime, parse: Parse) -> None:
        self.runtime = runtime
        self.parse = parse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _answer(send, 405, _error("method_not_allowed", "use POST"))
            return
        status, body = await self.handle(Headers(scope=scope), receive)
        await _answer(send, status, body)

    async def handle(self, headers: Headers, receive: Receive) -> tuple[int, bytes]:
        """The status and JSON body to answer with."""
        settings = self.runtime.settings
        try:
            raw = await _read_body(headers, receive, settings.webhook_max_body_bytes)
        except BodyTooLarge:
            limit = settings.webhook_max_body_bytes
            return 413, _error("body_too_large", f"bodies are limited to {limit} bytes")
        nonce = None
        if settings.sinch_webhook_secret:
            try:
                check = verify_signature(
                    settings.sinch_webhook_secret,
                    raw,
                    headers,
                    now=self.runtime.clock(),
                    max_age_seconds=settings.webhook_max_age_seconds,
                )
            except SignatureError as exc:
                log.warning("webhook refused: %s", exc.failure)
                return 401, _error("invalid_signature", str(exc))
            nonce = check.nonce
        try:
            event = self.parse(raw, nonce)
        except CallbackParseError as exc:
            return 400, _error("invalid_payload", str(exc))
        try:
            outcome = await self.runtime.committer.store(event)
        except StorageUnavailable as exc:
            log.error("webhook not stored (%s); answering 503 so Sinch retries", exc)
            return 503, _error("storage_unavailable", "the event could not be stored; retry later")
        if outcome is Outcome.REPLAYED:
            return 401, _error("replayed_nonce", "this signature nonce was already used")
        if event.inbound is not None and self.runtime.is_opt_out(event.inbound.body):
            await self.runtime.wait_for_posts_to(event.inbound.from_phone)
        return 200, _STATUS_BODIES[outcome]


def webhook_endpoints(runtime: Runtime) -> dict[str, WebhookEndpoint]:
    return {
        DELIVERY_REPORTS_PATH: WebhookEndpoint(runtime, delivery_event),
        INBOUND_PATH: WebhookEndpoint(runtime, inbound_event),
    }


async def _read_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _json_body(content: dict[str, str]) -> bytes:
    return json.dumps(content).encode()


def _error(error: str, message: str) -> bytes:
    return _json_body({"error": error, "message": message})


# The answers to nearly every callback, encoded once.
_STATUS_BODIES = {outcome: _json_body({"status": outcome.value}) for outcome in Outcome}


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
