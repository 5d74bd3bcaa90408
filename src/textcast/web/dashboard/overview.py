"""`/`: the overview."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain import campaigns
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, principal: PageUser) -> Response:
    with request.app.state.runtime.database.read() as session:
        recent = campaigns.list_campaigns(session, limit=10)
    return render(request, "overview.html", principal, recent=recent)
