"""/account: what every signed-in user does to their own account.

Their password (the current one asked for), the time zone their pages show times in, where
they are signed in (ending one session or
all the others) and their own API keys (created, shown once, revoked). Changes go through the
JSON API (`/api/v1/me`, `/api/v1/me/...`, `/api/v1/apikeys`) from `static/account.js`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain.accounts import api_keys, passwords, sessions
from textcast.domain.accounts.permissions import SCOPE_PERMISSIONS, Principal, Scope
from textcast.models import utcnow
from textcast.web.dashboard.shell import PageUser, render
from textcast.wording import time_zone_names

router = APIRouter(include_in_schema=False)

SCOPE_HELP = {
    Scope.READ: "read: see campaigns, contacts and reports",
    Scope.SEND: "send: also create, change and send campaigns",
    Scope.ADMIN: "admin: everything, including users and keys",
}


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, principal: PageUser) -> Response:
    with request.app.state.runtime.database.read() as session:
        signed_in = sessions.sessions_of(session, principal.user_id)
        keys = api_keys.keys_of(session, principal.user_id)
    return render(
        request,
        "account.html",
        principal,
        sessions=[
            (sessions.public_id(s.digest), s, s.digest == principal.session_digest)
            for s in signed_in
        ],
        keys=keys,
        scopes=[(scope, SCOPE_HELP[scope]) for scope in grantable_scopes(principal)],
        min_password=passwords.MIN_LENGTH,
        max_password=passwords.MAX_LENGTH,
        zones=zone_choices(principal.display_time_zone),
        now=utcnow(),
    )


def zone_choices(chosen: str | None) -> list[str]:
    """The zones offered, by region (`Europe/Paris`), and UTC; the user's choice among them
    even when it is an old alias (`US/Eastern`) the API took."""
    offered = {
        name for name in time_zone_names() if "/" in name and name.split("/")[0] in _REGIONS
    } | {"UTC"}
    if chosen:
        offered.add(chosen)
    return sorted(offered)


_REGIONS = {
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
}  # fmt: skip


def grantable_scopes(principal: Principal) -> list[Scope]:
    """The scopes a key of this user may carry: none beyond what the user may do."""
    return [scope for scope in Scope if SCOPE_PERMISSIONS[scope] <= principal.permissions]
