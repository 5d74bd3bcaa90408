"""Short links: the URLs of a body, a code per recipient, and the clicks on `/l/{code}`.

Clicks are counted twice: every request (`clicks`), and once per client per `VISIT_WINDOW`
(`unique_clicks`, what analytics show).

What counts as a URL in a body: `http://` or `https://` (any case) followed by everything up
to whitespace, `<`, `>`, `"`, or a merge field's brace. Then punctuation that ends a sentence
around the link is given back to the text: trailing `.`, `,`, `;`, `:`, `!`, `?`, `'`, and a
closing `)` or `]` that has no opening partner inside the URL. So in
`Sale (see https://shop.example/spring).` the URL is `https://shop.example/spring`, while
`https://en.wikipedia.org/wiki/Sale_(disambiguation)` keeps its parenthesis.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from textcast.db import upserting_insert
from textcast.domain import stream
from textcast.models import EventType, Link, LinkVisit, Message, utcnow

CODE_ALPHABET = string.ascii_letters + string.digits
"""URL-safe, and nothing a phone could take for punctuation ending the link."""
CODE_CHARS = 8
"""62**8: about 48 random bits, unguessable one by one."""
MAX_CODE_CHARS = 16
"""The column's width: a longer path, like one with other characters than the alphabet's,
can be answered 404 without asking the database."""
VISIT_WINDOW = timedelta(hours=1)
"""A client (address and user agent) clicking a link again within this time is not a new
visit: reloads, a link preview fetched then opened, or a flood from one client count once."""
VISITOR_CHARS = 32
LINK_FIELD = "link"
"""Short links become the Sinch placeholders `${link.0}`, `${link.1}`, ... in order."""

_CODE_SET = frozenset(CODE_ALPHABET)
_URL = re.compile(r"https?://[^\s<>\"{}]+", re.IGNORECASE)
_TRAILING = ".,;:!?'"
_CLOSING = {")": "(", "]": "["}


def make_code(length: int = CODE_CHARS) -> str:
    if not CODE_CHARS <= length <= MAX_CODE_CHARS:
        raise ValueError(f"a link code has {CODE_CHARS} to {MAX_CODE_CHARS} characters")
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def find_urls(body: str) -> list[str]:
    """Distinct URLs of `body`, in order of first appearance."""
    found: dict[str, None] = {}
    for match in _URL.finditer(body):
        url = _trim(match.group())
        if _has_host(url):
            found.setdefault(url)
    return list(found)


def visitor_of(secret: bytes, address: str, user_agent: str) -> str:
    """Who clicked, as far as counting needs to know: a keyed hash, never the address itself."""
    client = f"{address}\n{user_agent}".encode()
    return hmac.new(secret, client, hashlib.sha256).hexdigest()[:VISITOR_CHARS]


def record_click(session: Session, code: str, visitor: str) -> str | None:
    """Count a click on `code`, as a unique one when `visitor` has not been counted on it
    within `VISIT_WINDOW`; its target URL, or None for a code we never made."""
    if len(code) > MAX_CODE_CHARS or not _CODE_SET.issuperset(code):
        return None
    now = utcnow()
    clicked = session.execute(
        update(Link)
        .where(Link.code == code)
        .values(
            clicks=Link.clicks + 1,
            first_click_at=func.coalesce(Link.first_click_at, now),
            last_click_at=now,
        )
        .returning(Link.url, Link.campaign_id, Link.message_id)
        .execution_options(synchronize_session=False)
    ).first()
    if clicked is None:
        return None
    url, campaign_id, message_id = clicked
    # Visitors are kept for one window only, so the table holds the last hour's clients.
    session.execute(delete(LinkVisit).where(LinkVisit.counted_at < now - VISIT_WINDOW))
    new_visit = session.scalar(
        upserting_insert(session, LinkVisit)
        .values(code=code, visitor=visitor, counted_at=now)
        .on_conflict_do_nothing(index_elements=["code", "visitor"])
        .returning(LinkVisit.code)
    )
    if new_visit is not None:
        session.execute(
            update(Link)
            .where(Link.code == code)
            .values(unique_clicks=Link.unique_clicks + 1)
            .execution_options(synchronize_session=False)
        )
    if stream.wanted(session, EventType.LINK_CLICKED):
        phone = None
        if message_id is not None:
            phone = session.scalar(select(Message.phone).where(Message.id == message_id))
        data = {
            "campaign_id": campaign_id,
            "message_id": message_id,
            "phone": phone,
            "url": url,
            "first_visit": new_visit is not None,
            "clicked_at": stream.timestamp(now),
        }
        stream.record(session, EventType.LINK_CLICKED, data, at=now)
    return str(url)


def _trim(url: str) -> str:
    while url and (url[-1] in _TRAILING or _unbalanced_closing(url)):
        url = url[:-1]
    return url


def _unbalanced_closing(url: str) -> bool:
    last = url[-1]
    return last in _CLOSING and url.count(_CLOSING[last]) < url.count(last)


def _has_host(url: str) -> bool:
    return len(url) > url.index("//") + 2
