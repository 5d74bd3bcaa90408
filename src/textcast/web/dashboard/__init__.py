"""The dashboard: server-rendered pages for people (the JSON API is for programs).

Pages only read (GET); every change goes through the JSON API with the session's CSRF token,
but for the flow builder's forms (`flows.py`) and a campaign's A/B test (`ab_tests.py`),
which work without a script.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from textcast.domain.errors import NotFound
from textcast.web.dashboard import (
    ab_tests,
    account,
    campaign_detail,
    campaign_editor,
    contacts,
    conversations,
    flows,
    forms,
    inbox,
    keywords,
    overview,
    segments,
    settings,
    signin,
    simulator,
    webhooks,
)
from textcast.web.dashboard.shell import SignInRequired, not_found_page, sign_in_redirect


def install_dashboard(app: FastAPI) -> None:
    """After `install_error_handlers`: the pages' not-found answer builds on the API's."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(sign_in_redirect(exc.next_path), status_code=303)

    # Pages answer a missing record with a page; the API keeps its own (JSON) answer.
    api_missing = app.exception_handlers[NotFound]

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: Exception) -> Response:
        endpoint = request.scope.get("endpoint")
        if isinstance(exc, NotFound) and getattr(endpoint, "__module__", "").startswith(__name__):
            return await run_in_threadpool(not_found_page, request, exc)
        answer = api_missing(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.include_router(signin.router)
    app.include_router(overview.router)
    # The editor's fixed paths (/campaigns/new) before the detail's /campaigns/{id:int}.
    app.include_router(campaign_editor.router)
    app.include_router(ab_tests.router)
    app.include_router(campaign_detail.router)
    app.include_router(contacts.router)
    app.include_router(segments.router)
    app.include_router(keywords.router)
    app.include_router(forms.router)
    app.include_router(flows.router)
    app.include_router(inbox.router)
    app.include_router(conversations.router)
    app.include_router(settings.router)
    app.include_router(account.router)
    app.include_router(webhooks.router)
    # Ahead of the simulator's mount at the same path (web/app.py), which serves its API.
    app.include_router(simulator.router)
