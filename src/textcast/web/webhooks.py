"""Sinch callbacks: authenticate, validate, store durably, then 2xx (docs/sending-protocol.md,
"Webhook protocol").

Sinch drops a callback answered with any 4xx other than 429, so 4xx is kept for requests
that must never be retried (bad signature, malformed body); anything we merely failed to
store is a 503, which Sinch retries.

Authentication is whatever is configured, all of it at once: a secret path segment
(WEBHOOK_PATH_TOKEN), HTTP basic auth (WEBHOOK_BASIC_AUTH) and the HMAC signature
(SINCH_WEBHOOK_SECRET). With real Sinch credentials and none of them, the app refuses to start
(`check_webhook_authentication`); in simulator mode with none of them, the built-in simulator
signs with a secret derived from the instance secret (`webhook_secret`), verified here.

With a path token the endpoints exist only under
`/api/webhooks/{token}/`: the plain paths and any wrong token are unknown paths (404, which Sinch
does not retry), so a refused path looks the same whatever was wrong with it.

The endpoints are plain ASGI, served ahead of FastAPI's routing and middleware: they are the
hot path (thousands of callbacks per second during a large campaign) and need none of it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from typing import NamedTuple

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from textcast.config import Settings
from textcast.domain.inbox.events import IncomingEvent, Outcome
from textcast.domain.inbox.group_commit import StorageUnavailable
from textcast.runtime import Runtime
from textcast.sinch.callbacks import CallbackParseError, SignatureError, verify_signature
from textcast.sinch.events import delivery_event, inbound_event
from textcast.webhook_urls import DELIVERY_REPORTS, INBOUND, path_token, webhook_path

log = logging.getLogger("textcast.webhooks")

SHORT_PATH_TOKEN = 16
Parse = Callable[[bytes, str | None], IncomingEvent]


class BodyTooLarge(Exception):
    pass


class Reply(NamedTuple):
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


def basic_auth_credentials(settings: Settings) -> tuple[str, str] | None:
    """WEBHOOK_BASIC_AUTH as (user, password); the password may contain colons."""
    if settings.webhook_basic_auth is None:
        return None
    user, _, password = settings.webhook_basic_auth.get_secret_value().partition(":")
    return user, password


class BasicAuth:
    """The user and password Sinch sends (set up at Sinch by the account manager)."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def admits(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        # Both compared in constant time, and both always, so timing tells nothing about which
        # one was wrong.
        user_matches = hmac.compare_digest(user, self._user)
        password_matches = hmac.compare_digest(password, self._password)
        return bool(colon) and user_matches and password_matches


class WebhookEndpoint:
    def __init__(self, runtime: Runtime, parse: Parse) -> None:
        self.runtime = runtime
        self.parse = parse
        credentials = basic_auth_credentials(runtime.settings)
        self.basic_auth = BasicAuth(*credentials) if credentials is not None else None
        self.secret = runtime.webhook_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _answer(send, Reply(405, _error("method_not_allowed", "use POST")))
            return
        await _answer(send, await self.handle(Headers(scope=scope), receive))

    async def handle(self, headers: Headers, receive: Receive) -> Reply:
        settings = self.runtime.settings
        try:
            raw = await _read_body(headers, receive, settings.webhook_max_body_bytes)
        except BodyTooLarge:
            limit = settings.webhook_max_body_bytes
            return Reply(413, _error("body_too_large", f"bodies are limited to {limit} bytes"))
        if self.basic_auth is not None and not self.basic_auth.admits(headers.get("authorization")):
            log.warning("webhook refused: bad basic auth")
            return _BASIC_AUTH_REFUSAL
        nonce = None
        if self.secret is not None:
            try:
                check = verify_signature(
                    self.secret,
                    raw,
                    headers,
                    now=self.runtime.clock(),
                    max_age_seconds=settings.webhook_max_age_seconds,
                )
            except SignatureError as exc:
                log.warning("webhook refused: %s", exc.failure)
                return Reply(401, _error("invalid_signature", str(exc)))
            nonce = check.nonce
        try:
            event = self.parse(raw, nonce)
        except CallbackParseError as exc:
            return Reply(400, _error("invalid_payload", str(exc)))
        try:
            outcome = await self.runtime.committer.store(event)
        except StorageUnavailable as exc:
            log.error("webhook not stored (%s); answering 503 so Sinch retries", exc)
            return Reply(
                503, _error("storage_unavailable", "the event could not be stored; retry later")
            )
        if outcome is Outcome.REPLAYED:
            return Reply(401, _error("replayed_nonce", "this signature nonce was already used"))
        if event.inbound is not None and self.runtime.is_opt_out(event.inbound.body):
            await self.runtime.wait_for_posts_to(event.inbound.from_phone)
        return Reply(200, _STATUS_BODIES[outcome])


def webhook_endpoints(runtime: Runtime) -> dict[str, WebhookEndpoint]:
    """Path -> endpoint, with the path token (if any) inside the paths.

    The app finds an endpoint by looking the request path up in this dict, so a path token is
    never compared character by character: a miss costs the keyed (per-process randomised)
    hash of the requested path, and the string itself is compared only on a full hash match,
    which a caller cannot aim for without knowing the token. A timing attack therefore learns
    nothing about the token's prefix; a short token could still be guessed, hence the warning.
    """
    settings = runtime.settings
    token = path_token(settings)
    if token is not None and len(token) < SHORT_PATH_TOKEN:
        log.warning(
            "WEBHOOK_PATH_TOKEN is shorter than %d characters; use a long random one",
            SHORT_PATH_TOKEN,
        )
    return {
        webhook_path(settings, DELIVERY_REPORTS): WebhookEndpoint(runtime, delivery_event),
        webhook_path(settings, INBOUND): WebhookEndpoint(runtime, inbound_event),
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
_BASIC_AUTH_REFUSAL = Reply(
    401,
    _error("invalid_credentials", "missing or wrong basic auth credentials"),
    ((b"www-authenticate", b'Basic realm="textcast webhooks"'),),
)


async def _answer(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(reply.body)),
        *reply.headers,
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
