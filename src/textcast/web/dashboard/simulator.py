"""/simulator: the built-in Sinch simulator for admins, to try two-way texting without a phone.

The start-up banner links here. The page shows what the simulator received from us and the
texts simulated phones sent; its form texts us as any phone (STOP, HELP, START or a reply)
through `/api/v1/simulator/texts`, and a person can sign up on a form and reply Y
(`/api/v1/simulator/signups`; `static/simulator.js`). Others than admins are told the page
is not for them; without the simulator, it says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from textcast.db import Database
from textcast.domain.accounts.permissions import Permission
from textcast.domain.signups import forms as signup_forms
from textcast.web.api.simulator import MAX_TEXT, gateway
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/simulator", response_class=HTMLResponse)
async def simulator_page(request: Request, principal: PageUser) -> Response:
    if not principal.can(Permission.ADMIN):
        return render(request, "simulator.html", principal, 403, allowed=False)
    found = gateway(request)
    runtime = request.app.state.runtime
    settings = runtime.settings
    forms = await run_in_threadpool(_active_forms, runtime.database)
    return render(
        request,
        "simulator.html",
        principal,
        allowed=True,
        view=await found.view() if found is not None else None,
        standalone=settings.uses_simulator and settings.sinch_base_url,
        our_number=settings.sinch_number,
        max_text=MAX_TEXT,
        forms=forms,
        public_url=settings.public_url.rstrip("/"),
    )


def _active_forms(database: Database) -> list[tuple[str, str, list[str]]]:
    """(slug, name, the names of its other fields) of each form a person can sign up on."""
    with database.read() as session:
        return [
            (form.slug, form.name, [str(f.get("name")) for f in form.fields or []])
            for form in signup_forms.list_forms(session, include_archived=False)
        ]


@router.get("/simulator/", include_in_schema=False)
def simulator_slash(_: PageUser) -> RedirectResponse:
    """The mounted simulator has nothing at its root: people mean the page."""
    return RedirectResponse("/simulator", status_code=307)
