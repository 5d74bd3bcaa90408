"""`/l/{code}`: a recipient's short link, counted, then redirected to its URL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from textcast.domain import links
from textcast.web.deps import DatabaseDep

router = APIRouter(tags=["links"])

# Each visit is a click to count: no browser or proxy may answer it from a cache.
_NO_STORE = {"cache-control": "no-store"}


@router.get(
    "/l/{code}",
    response_class=RedirectResponse,
    status_code=302,
    responses={404: {"content": {"text/plain": {}}, "description": "No such link."}},
)
def follow_link(code: str, database: DatabaseDep) -> Response:
    with database.write() as session:
        url = links.record_click(session, code)
    if url is None:
        return PlainTextResponse("This link does not exist.", status_code=404, headers=_NO_STORE)
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)
