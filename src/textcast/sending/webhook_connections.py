"""Keep-alive HTTP/1.1 connections for the webhook sender's POSTs, on asyncio streams with
httptools' parser (uvicorn's).

Not httpx: on the 2-core development machine an httpx.AsyncClient made about 150 POSTs a
second on one connection and fewer with 32 (its pool checks every idle connection's socket
for each request, and anyio wraps every read and write); the same POSTs on asyncio streams
make several times that (bench/outbound.py). A POST here is one write (head and body
together), and its answer is read only up to a bound.

Connections are pooled by (address, port, TLS server name): made to the address the sender
checked, and an https connection, verified for one name, is reused for that name only.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httptools

IDLE_SECONDS = 4.0
"""An idle connection older than this is closed, not reused (servers commonly close theirs
after 5 s)."""
CHUNK = 8192
MAX_HEAD = 16_384
"""Bytes of an answer's status line and headers, at most."""


class BrokenAnswer(Exception):
    """The endpoint closed the connection, or answered with something other than HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    excerpt: bytes
    """The start of the body, up to the read limit."""
    retry_after: str | None


@dataclass(slots=True)
class _Reading:
    """httptools' callbacks: what the answer holds so far."""

    limit: int
    body: bytearray = field(default_factory=bytearray)
    headers_done: bool = False
    complete: bool = False
    retry_after: str | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, chunk: bytes) -> None:
        if len(self.body) < self.limit:
            self.body += chunk[: self.limit - len(self.body)]

    def on_message_complete(self) -> None:
        self.complete = True


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and time.monotonic() - self.idle_since < IDLE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: bytes, limit: int) -> tuple[Answer, bool]:
        """Send `request`, read its answer (the body up to `limit` bytes); the answer and
        whether the connection may be used again."""
        self.writer.write(request)
        await self.writer.drain()
        reading = _Reading(limit)
        parser = httptools.HttpResponseParser(reading)
        received = 0
        while not reading.complete:
            chunk = await self.reader.read(CHUNK)
            if not chunk:
                if reading.headers_done:  # a body that ends with the connection
                    break
                raise BrokenAnswer(
                    "the endpoint closed the connection without answering"
                    if received == 0
                    else "the endpoint broke off its answer"
                )
            received += len(chunk)
            try:
                parser.feed_data(chunk)
            except httptools.HttpParserError as exc:
                raise BrokenAnswer(f"the answer is not HTTP ({exc})") from None
            if not reading.headers_done and received > MAX_HEAD:
                raise BrokenAnswer("the answer's headers are too long")
            if len(reading.body) >= limit:
                break  # enough read: the rest is left, with the connection
        answer = Answer(parser.get_status_code(), bytes(reading.body), reading.retry_after)
        return answer, reading.complete and parser.should_keep_alive()


class Connections:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._idle: dict[tuple[str, int, str | None], list[_Connection]] = {}

    async def post(
        self,
        address: str,
        port: int,
        request: bytes,
        *,
        tls_name: str | None = None,
        limit: int = 4096,
    ) -> Answer:
        """Send a whole request (`head_of` + body) to `address`, over TLS verified for
        `tls_name` when given. `BrokenAnswer` or an `OSError` when no answer came."""
        key = (address, port, tls_name)
        connection = self._take_idle(key)
        if connection is not None:
            try:
                return await self._use(key, connection, request, limit)
            except (BrokenAnswer, ConnectionError):
                # An idle connection the endpoint had closed meanwhile: once more, anew.
                pass
        connection = await self._open(address, port, tls_name)
        return await self._use(key, connection, request, limit)

    async def _use(
        self, key: tuple[str, int, str | None], connection: _Connection, request: bytes, limit: int
    ) -> Answer:
        try:
            answer, reusable = await connection.exchange(request, limit)
        except BaseException:
            connection.close()
            raise
        if reusable:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(key, []).append(connection)
        else:
            connection.close()
        return answer

    def _take_idle(self, key: tuple[str, int, str | None]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _open(self, address: str, port: int, tls_name: str | None) -> _Connection:
        if tls_name is None:
            reader, writer = await asyncio.open_connection(address, port, limit=CHUNK * 4)
        else:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            reader, writer = await asyncio.open_connection(
                address, port, ssl=self._tls, server_hostname=tls_name, limit=CHUNK * 4
            )
        return _Connection(reader, writer)

    def close_idle(self, older_than: float = IDLE_SECONDS) -> None:
        now = time.monotonic()
        for key, idle in list(self._idle.items()):
            keep = [c for c in idle if now - c.idle_since < older_than and c.usable()]
            for connection in idle:
                if connection not in keep:
                    connection.close()
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    async def aclose(self) -> None:
        self.close_idle(older_than=0.0)


def head_of(target: str, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """A POST's request line and headers (`target`: the path and query, percent-encoded),
    with its body's length."""
    lines = [f"POST {target} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    lines.append(f"content-length: {len(body)}")
    if any(c in line for line in lines for c in "\r\n\0"):
        raise ValueError("a request line or header holds a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
