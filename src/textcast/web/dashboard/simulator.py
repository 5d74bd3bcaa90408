"""/simulator: the built-in Sinch simulator for admins, to try two-way texting without a phone.

The start-up banner links here. The page shows what the simulator received from us and the
texts simulated phones sent; its form texts us as any phone (STOP, HELP, START or a reply)
through `/api/v1/simulator/texts` (`static/simulator.js`). Others than admins are told the page
is not for them; without the simulator, it says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from textcast.domain.accounts.permissions import Permission
from textcast.web.api.simulator import MAX_TEXT, gateway
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/simulator", response_class=HTMLResponse)
async def simulator_page(request: Request, principal: PageUser) -> Response:
    if not principal.can(Permission.ADMIN):
        return render(request, "simulator.html", principal, 403, allowed=False)
    found = gateway(request)
    settings = request.app.state.runtime.settings
    return render(
        request,
        "simulator.html",
        principal,
        allowed=True,
        view=await found.view() if found is not None else None,
        standalone=settings.uses_simulator and settings.sinch_base_url,
        our_number=settings.sinch_number,
        max_text=MAX_TEXT,
    )


@router.get("/simulator/", include_in_schema=False)
def simulator_slash(_: PageUser) -> RedirectResponse:
    """The mounted simulator has nothing at its root: people mean the page."""
    return RedirectResponse("/simulator", status_code=307)
