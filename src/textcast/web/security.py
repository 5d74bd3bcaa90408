"""Response headers every page and answer carries, and the cap on request bodies.

Both are plain ASGI middleware: cheap, and they wrap everything FastAPI serves (Sinch's
webhooks are answered before them and cap their own bodies).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI sets element styles from its script; pages of our own use classes only.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


NO_STORE = (b"cache-control", b"no-store")
"""Pages and answers carry numbers, names and messages: no browser or proxy keeps a copy."""


class SecurityHeaders:
    """`SECURITY_HEADERS` on every answer, and `NO_STORE` on all but the `cacheable` paths
    (static assets, the same for everyone) unless the answer chose its own cache-control.
    Answers under the `framable` paths (public sign-up forms) get no `X-Frame-Options`:
    their own CSP's `frame-ancestors` names who may frame them."""

    def __init__(
        self, app: ASGIApp, *, cacheable: tuple[str, ...] = (), framable: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.cacheable = cacheable
        self.framable = framable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = SECURITY_HEADERS
        if scope["path"].startswith(self.framable):
            defaults = [h for h in SECURITY_HEADERS if h[0] != b"x-frame-options"]
        if not scope["path"].startswith(self.cacheable):
            defaults = [*defaults, NO_STORE]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in defaults if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class RelativeRedirects:
    """Redirects to this site say where by path alone, whatever Host the request claimed.

    Starlette's trailing-slash redirect (`/contacts/` to `/contacts`) is absolute, built from
    the request's Host header: a spoofed Host came back as `Location: http://evil.example/…`,
    and a cache or a proxy that keys on the path alone could hand that to everyone. A relative
    Location is resolved by the browser against the address it really used, so it stays right
    behind any proxy, on `make run`'s localhost and in tests, without a list of trusted hosts.
    Redirects elsewhere (a short link's target) are left as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = (Headers(scope=scope).get("host") or "").lower()

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (name, _on_this_site(value, host) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, relative)


def _on_this_site(location: bytes, host: str) -> bytes:
    url = urlsplit(location.decode("latin-1"))
    if not url.scheme or url.netloc.lower() != host:
        return location
    # One leading slash: `//evil.example` would be another site's address again.
    path = "/" + url.path.lstrip("/\\")
    return (path + (f"?{url.query}" if url.query else "")).encode("latin-1")


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a request body over its cap: `large_paths` (CSV uploads) get the larger one."""

    def __init__(
        self, app: ASGIApp, *, limit: int, large_limit: int, large_paths: tuple[str, ...]
    ) -> None:
        self.app = app
        self.limit = limit
        self.large_limit = large_limit
        self.large_paths = large_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.large_limit if scope["path"] in self.large_paths else self.limit
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        overflow = False
        answered = False

        async def counted() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = True
                    raise BodyTooLarge
            return message

        async def answering(message: Message) -> None:
            # Frameworks turn a failed body read into their own 400: once the body ran over,
            # whatever the app answers becomes the 413 it really is.
            nonlocal answered
            if overflow:
                if not answered:
                    answered = True
                    await _too_large(send, limit)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counted, answering)
        except BodyTooLarge:
            if not answered:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": "body_too_large", "message": f"request bodies are limited to {limit} bytes"}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
