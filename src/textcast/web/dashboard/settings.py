"""/settings: Sinch connection, sender, quiet hours, prices, limits, users, API keys.

The configuration is shown read-only (it comes from the environment); users and keys change
through the JSON API (`static/settings.js`). Admins also see the connection test, the users and
everybody else's keys; everyone manages their own keys on /account (`account.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain.accounts import api_keys, users
from textcast.domain.accounts.permissions import Permission
from textcast.models import Role
from textcast.web.api.settings import SettingsOut
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, principal: PageUser) -> Response:
    runtime = request.app.state.runtime
    admin = principal.can(Permission.ADMIN)
    with runtime.database.read() as session:
        people = users.list_users(session) if admin else []
        keys = api_keys.keys_of(session) if admin else []
    return render(
        request,
        "settings.html",
        principal,
        config=SettingsOut.of(runtime),
        users=people,
        owners={person.id: person.email for person in people},
        other_keys=[key for key in keys if key.user_id != principal.user_id],
        roles=list(Role),
    )
