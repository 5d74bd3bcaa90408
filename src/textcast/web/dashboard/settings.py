"""/settings: the settings changed while textcast runs, Sinch connection, sender, quiet hours,
prices, limits, users, API keys.

Admins change the sender, quiet hours, prices, keyword replies and limits here, through the
JSON API (`static/settings.js`), and see where each value comes from; everybody else reads
them. The rest of the configuration comes from the environment and is shown read-only. Admins
also see the connection test, the users and everybody else's keys; everyone manages their own
keys on /account (`account.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain.accounts import api_keys, users
from textcast.domain.accounts.permissions import Permission
from textcast.editable_settings import GROUP_TITLES
from textcast.models import Role
from textcast.web.api.settings import EditableSettingOut, SettingsOut
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, principal: PageUser) -> Response:
    runtime = request.app.state.runtime
    admin = principal.can(Permission.ADMIN)
    with runtime.database.read() as session:
        people = users.list_users(session) if admin else []
        keys = api_keys.keys_of(session) if admin else []
    config = SettingsOut.of(runtime)
    return render(
        request,
        "settings.html",
        principal,
        config=config,
        groups=setting_groups(config.editable),
        users=people,
        owners={person.id: person.email for person in people},
        other_keys=[key for key in keys if key.user_id != principal.user_id],
        roles=list(Role),
    )


def setting_groups(
    editable: list[EditableSettingOut],
) -> list[tuple[str, str, list[EditableSettingOut]]]:
    """The changeable settings in their groups: (group, title, settings), in the page's order."""
    return [
        (group.value, title, [item for item in editable if item.group == group])
        for group, title in GROUP_TITLES.items()
    ]
