"""Sinch callbacks: authenticate, validate, store durably, then 2xx (DESIGN §5).

Sinch drops a callback answered with any 4xx other than 429, so 4xx is kept for requests
that must never be retried (bad signature, malformed body); anything we merely failed to
store is a 503, which Sinch retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from textcast.domain.inbox import IncomingEvent, Outcome
from textcast.sinch.callbacks import CallbackParseError, SignatureError, verify_signature
from textcast.sinch.events import delivery_event, inbound_event
from textcast.web.group_commit import StorageUnavailable
from textcast.runtime import Runtime

log = logging.getLogger("textcast.webhooks")
router = APIRouter(tags=["webhooks"])


class BodyTooLarge(Exception):
    pass


@router.post("/api/webhooks/delivery-reports", summary="Sinch delivery reports (batch or per recipient)")
async def delivery_reports(request: Request) -> Response:
    return await _receive(request, delivery_event)


@router.post("/api/webhooks/inbound", summary="Sinch inbound (MO) messages")
async def inbound(request: Request) -> Response:
    return await _receive(request, inbound_event)


async def _receive(request: Request, parse: Callable[[bytes, str | None], IncomingEvent]) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    try:
        raw = await _read_body(request, settings.webhook_max_body_bytes)
    except BodyTooLarge:
        return _answer(413, "body_too_large", f"bodies are limited to {settings.webhook_max_body_bytes} bytes")
    nonce = None
    if settings.sinch_webhook_secret:
        try:
            check = verify_signature(
                settings.sinch_webhook_secret,
                raw,
                request.headers,
                now=runtime.clock(),
                max_age_seconds=settings.webhook_max_age_seconds,
            )
        except SignatureError as exc:
            log.warning("webhook refused: %s", exc)
            return _answer(401, "invalid_signature", str(exc))
        nonce = check.nonce
    try:
        event = parse(raw, nonce)
    except CallbackParseError as exc:
        return _answer(400, "invalid_payload", str(exc))
    try:
        outcome = await runtime.committer.store(event)
    except StorageUnavailable as exc:
        log.error("webhook not stored (%s); answering 503 so Sinch retries", exc)
        return _answer(503, "storage_unavailable", "the event could not be stored; retry later")
    if outcome is Outcome.REPLAYED:
        return _answer(401, "replayed_nonce", "this signature nonce was already used")
    return JSONResponse({"status": outcome.value})


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge
    return bytes(chunks)


def _answer(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)
