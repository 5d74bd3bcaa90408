"""`/l/{code}`: a recipient's short link, counted, then redirected to its URL; rate-limited per
client address (`LINK_RATE_LIMIT`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from textcast.domain.errors import TooManyRequests
from textcast.services import links
from textcast.web.auth import client_ip, rate_limits
from textcast.web.deps import RuntimeDep

router = APIRouter(tags=["links"])

# Each visit is a click to count: no browser or proxy may answer it from a cache.
_NO_STORE = {"cache-control": "no-store"}


@router.get(
    "/l/{code}",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        404: {"content": {"text/plain": {}}, "description": "No such link."},
        429: {"description": "Too many requests from this address: retry after `Retry-After`."},
    },
)
def follow_link(code: str, request: Request, runtime: RuntimeDep) -> Response:
    address = client_ip(request)
    limits = rate_limits(request)
    try:  # before the database: a flood from one address writes one audit entry an hour
        limits.hit_link(address)
    except TooManyRequests:
        if limits.first_link_refusal(address):
            links.record_throttled(runtime.database, address)
        raise
    url = links.follow_link(
        runtime.database,
        runtime.secret,
        code,
        address=address,
        user_agent=request.headers.get("user-agent", ""),
    )
    if url is None:
        return PlainTextResponse("This link does not exist.", status_code=404, headers=_NO_STORE)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)
