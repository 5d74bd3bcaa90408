"""The dashboard: server-rendered pages for people (the JSON API is for programs).

Pages only read (GET); every change goes through the JSON API with the session's CSRF token.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from textcast.web.dashboard import (
    campaign_detail,
    campaign_editor,
    contacts,
    inbox,
    overview,
    settings,
    signin,
)
from textcast.web.dashboard.shell import SignInRequired, sign_in_redirect


def install_dashboard(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(sign_in_redirect(exc.next_path), status_code=303)

    app.include_router(signin.router)
    app.include_router(overview.router)
    # The editor's fixed paths (/campaigns/new) before the detail's /campaigns/{id:int}.
    app.include_router(campaign_editor.router)
    app.include_router(campaign_detail.router)
    app.include_router(contacts.router)
    app.include_router(inbox.router)
    app.include_router(settings.router)
