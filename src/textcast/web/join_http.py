"""What `/join/{slug}` reads from a request and says in its headers: the body (capped;
urlencoded, multipart or JSON), the origins a form allows, framing and CORS; and how the public
POST is described in the OpenAPI document."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request
from starlette.datastructures import UploadFile

from textcast.domain.signups import submissions
from textcast.domain.signups.submissions import HONEYPOT, PHONE
from textcast.models import SignupForm
from textcast.web.deps import get_runtime
from textcast.web.join_words import language_from_header

EMBEDDED_IN = "embedded_in"
"""The hosted page's hidden field: the page that framed it (its Referer when it was shown)."""
MAX_FIELDS = 50
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?")

FIELD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [PHONE],
    "properties": {
        PHONE: {
            "type": "string",
            "maxLength": submissions.MAX_PHONE_CHARS,
            "description": "The mobile number, as the person typed it; a number without its "
            "country code is read in the form's first allowed country.",
        },
        "first_name": {"type": "string", "maxLength": submissions.MAX_TEXT_CHARS},
        "last_name": {"type": "string", "maxLength": submissions.MAX_TEXT_CHARS},
        "email": {"type": "string", "maxLength": submissions.MAX_EMAIL_CHARS},
        "birthday": {"type": "string", "format": "date", "description": "YYYY-MM-DD."},
        HONEYPOT: {
            "type": "string",
            "description": "The honeypot: hide it from people and leave it empty. A "
            "submission with it filled in is answered as a success and dropped.",
        },
        EMBEDDED_IN: {
            "type": "string",
            "description": "The page showing the form, when the Referer cannot say it.",
        },
    },
    "additionalProperties": {
        "type": "string",
        "maxLength": submissions.MAX_TEXT_CHARS,
        "description": "A custom field the form asks for (a contact attribute).",
    },
}
SUBMIT_DOCS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": FIELD_SCHEMA},
            "multipart/form-data": {"schema": FIELD_SCHEMA},
            "application/json": {"schema": FIELD_SCHEMA},
        },
    }
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {
            "type": "string",
            "enum": ["ok", "invalid", "too_many_requests", "not_found", "forbidden", "error"],
        },
        "message": {"type": "string", "description": "In the form's language."},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Each field at fault, with what is wrong, in the form's language.",
        },
        "redirect": {"type": "string", "description": "Where to send the person next."},
    },
}


# -- origins, framing, CORS ---------------------------------------------------------------------


def origins(form: SignupForm) -> list[str]:
    """The form's allowed origins that really are origins (`https://shop.example.com`)."""
    return [o.rstrip("/") for o in form.allowed_origins or [] if ORIGIN.fullmatch(o.rstrip("/"))]


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def redirect_url(form: SignupForm) -> str | None:
    """The form's redirect URL, when its origin is one the form allows."""
    origin = origin_of(form.redirect_url)
    return form.redirect_url if origin and origin in origins(form) else None


def may_post_from(request: Request, form: SignupForm, origin: str | None) -> bool:
    """A browser names the site a form was sent from: this one, or one the form allows.
    (No Origin, or `null` as browsers send behind `Referrer-Policy: no-referrer`: a person's
    own client or this page, judged by the other defences.)"""
    if not origin or origin == "null":
        return True
    if origin.rstrip("/") in origins(form):
        return True
    own = {request.headers.get("host", "").lower()}
    own.add(urlsplit(get_runtime(request).settings.public_url).netloc.lower())
    return urlsplit(origin).netloc.lower() in own


def cors(form: SignupForm, origin: str | None) -> dict[str, str]:
    """`Access-Control-Allow-Origin` for an origin the form names only: never `*`, never
    with credentials."""
    if origin and origin.rstrip("/") in origins(form):
        return {"access-control-allow-origin": origin, "vary": "Origin"}
    return {"vary": "Origin"}


def page_headers(form: SignupForm) -> dict[str, str]:
    """Framed only by the form's sites; sent only here and to its redirect's site."""
    ancestors = " ".join(["'self'", *origins(form)])
    actions = " ".join(["'self'", *filter(None, [origin_of(redirect_url(form))])])
    policy = "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"form-action {actions}",
            f"frame-ancestors {ancestors}",
            "base-uri 'none'",
        ]
    )
    return {"content-security-policy": policy}


# -- reading the body ---------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or "application/json" in request.headers.get("accept", "")


def accepted_language(request: Request) -> str | None:
    return language_from_header(request.headers.get("accept-language"))


async def capped_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def values(request: Request, body: bytes) -> dict[str, str]:
    """The submitted fields as text, the first value of each name; ValueError if unreadable."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return {
            str(k)[:64]: str(v)
            for k, v in list(data.items())[:MAX_FIELDS]
            if isinstance(v, str | int | float)
        }
    if kind == "multipart/form-data":
        return await multipart(request, body)
    text = body.decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS):
        values.setdefault(name[:64], value)
    return values


async def multipart(request: Request, body: bytes) -> dict[str, str]:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=0, max_fields=MAX_FIELDS) as form:
            values: dict[str, str] = {}
            for name, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    values.setdefault(name[:64], value)
            return values
    except Exception as exc:  # starlette's MultiPartException and parser errors alike
        raise ValueError("unreadable multipart body") from exc
