"""The public short links' use cases: count a click, and note an address the rate limit
refused (once per refusal spell: the caller's limiter says when)."""

from __future__ import annotations

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.content import links


def follow_link(
    database: Database, secret: bytes, code: str, *, address: str, user_agent: str
) -> str | None:
    """Count a click on `code` from this client (kept as a keyed hash, never the address);
    the URL to send it to, or None for a code we never made."""
    visitor = links.visitor_of(secret, address, user_agent)
    with database.write() as session:
        return links.record_click(session, code, visitor)


def record_throttled(database: Database, address: str) -> None:
    """An address that the rate limit started refusing."""
    with database.write() as session:
        audit.record(session, Actor("anonymous", ip=address), "link.throttled")
