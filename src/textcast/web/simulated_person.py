"""The simulator playing a person who signs up on a form: a POST to this server's own public
`/join/{slug}` over HTTP, form-encoded, exactly as a browser on the hosted page sends it (its
Origin and Referer included), so that everything the public endpoint checks and stores (rate
limits, countries, the evidence with the address and user agent) happens as for anyone.

The person's "Y" afterwards is an ordinary simulated text (`/api/v1/simulator/texts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

USER_AGENT = "textcast-simulator (a simulated person)"
TIMEOUT = 15.0

Outcome = Literal["submitted", "refused", "limited", "not_found", "unexpected"]


@dataclass(frozen=True, slots=True)
class FormAnswer:
    status_code: int
    outcome: Outcome
    location: str | None
    """Where a 303 sends the browser (the thank-you page or the form's redirect)."""
    retry_after: str | None


class FormUnreachable(Exception):
    """The server's own public URL did not answer."""


async def submit_form(public_url: str, slug: str, fields: dict[str, str]) -> FormAnswer:
    """`fields` holds the phone as the person typed it and any of the form's other fields."""
    page = f"{public_url.rstrip('/')}/join/{slug}"
    headers = {"User-Agent": USER_AGENT, "Origin": _origin(public_url), "Referer": page}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            answer = await client.post(page, data=fields, headers=headers)
    except httpx.HTTPError as exc:
        raise FormUnreachable(f"{page} did not answer ({type(exc).__name__})") from None
    return FormAnswer(
        status_code=answer.status_code,
        outcome=_outcome(answer.status_code),
        location=answer.headers.get("location"),
        retry_after=answer.headers.get("retry-after"),
    )


def _outcome(status_code: int) -> Outcome:
    if status_code in (302, 303):
        return "submitted"
    if status_code == 422:
        return "refused"
    if status_code == 429:
        return "limited"
    if status_code == 404:
        return "not_found"
    return "unexpected"


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
