"""What every dashboard page shares: templates, the signed-in user, the page frame.

Pages are server-rendered; our own small scripts (static/*.js) add live updates and send
changes to the JSON API with the session's CSRF token (`X-CSRF-Token`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from textcast import __version__, wording
from textcast.domain.accounts import sessions
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.errors import NotFound
from textcast.domain.inbox import threads
from textcast.vocabulary import campaign_display_name, describe_skip
from textcast.web.api.ids import MAX_ID
from textcast.web.auth import SESSION_COOKIE

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
# Skip reasons read the same on every page (the plan's, the campaign's).
templates.env.globals["describe_skip"] = describe_skip
# Keyword-reply campaigns made before they had readable names read as the new ones.
templates.env.filters["campaign_name"] = campaign_display_name


@pass_context
def when(context: Context, at: datetime | None, seconds: bool = False) -> Markup:
    """A moment as every page shows it: `2026-12-07 14:05 CET` in the user's display time
    zone, UTC on hover. Without a chosen zone it is rendered in UTC and marked
    `data-local-time` for `static/app.js` to show in the browser's own zone."""
    if at is None:
        return Markup("")
    principal = context.get("principal")
    chosen = principal.display_time_zone if isinstance(principal, Principal) else None
    utc = wording.moment(at, UTC, seconds=seconds)
    shown = wording.moment(at, wording.time_zone(chosen), seconds=seconds)
    return Markup(
        '<time datetime="{iso}" title="{utc}"{local}>{shown}</time>'
    ).format(  # Markup.format escapes every value
        iso=at.astimezone(UTC).isoformat(),
        utc=utc,
        local=Markup("") if chosen else Markup(" data-local-time"),
        shown=shown,
    )


templates.env.globals["when"] = when
templates.env.filters["plural"] = wording.plural
templates.env.globals["money"] = wording.money
templates.env.globals["money_amount"] = wording.money_amount
templates.env.globals["currency_decimals"] = wording.currency_decimals

NAVIGATION = (
    ("/", "Overview"),
    ("/campaigns", "Campaigns"),
    ("/contacts", "Contacts"),
    ("/flows", "Flows"),
    ("/forms", "Forms"),
    ("/keywords", "Keywords"),
    ("/inbox", "Inbox"),
    ("/settings", "Settings"),
)
ADMIN_NAVIGATION = (("/webhooks", "Webhooks"),)
"""Pages only admins have use for: shown to them alone."""


class SignInRequired(Exception):
    """A page asked for by somebody not signed in: they are sent to /login, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def signed_in(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with request.app.state.runtime.database.read() as session:
        principal: Principal | None = sessions.principal_for_session(session, token)
    return principal


def page_user(request: Request) -> Principal:
    principal = signed_in(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def page_id(value: int, what: str) -> int:
    """An id from a page's path. One past what the database holds is not there (the driver
    would overflow looking for it)."""
    if not 1 <= value <= MAX_ID:
        raise NotFound(what, value)
    return value


BACK_TO = {
    "campaign": ("/campaigns", "All campaigns"),
    "contact": ("/contacts", "Back to contacts"),
    "import": ("/contacts/import", "See recent imports"),
    "segment": ("/contacts/lists", "All lists and segments"),
    "form": ("/forms", "All sign-up forms"),
    "flow": ("/flows", "All flows"),
    "conversation": ("/inbox", "All conversations"),
    "quick reply": ("/inbox/quick-replies", "All quick replies"),
    "webhook subscription": ("/webhooks", "All webhooks"),
}


def not_found_page(request: Request, missing: NotFound) -> Response:
    """The 404 of every page: what is missing, and where to go instead."""
    back = BACK_TO.get(missing.what, ("/", "Overview"))
    return render(
        request,
        "not_found.html",
        signed_in(request),
        404,
        what=missing.what,
        ident=missing.ident,
        back=back,
    )


def sign_in_redirect(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def render(
    request: Request,
    name: str,
    principal: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    runtime = request.app.state.runtime
    return templates.TemplateResponse(
        request,
        name,
        {
            "simulated": runtime.settings.uses_simulator,
            "version": __version__,
            "principal": principal,
            "csrf_token": principal.csrf_token if principal else context.pop("csrf_token", None),
            "navigation": _navigation(principal),
            "current": request.url.path,
            "can": _abilities(principal),
            "unread_conversations": _unread(request) if principal else 0,
            **context,
        },
        status_code=status_code,
    )


def render_fragment(name: str, principal: Principal, **context: Any) -> str:
    """A piece of a page (a table, a thread), as a page polling for changes puts it in place."""
    return templates.env.get_template(name).render(
        principal=principal, can=_abilities(principal), **context
    )


def _unread(request: Request) -> int:
    """The navigation's badge: conversations with a text nobody has opened yet."""
    with request.app.state.runtime.database.read() as session:
        return threads.unread_conversations(session)


def _navigation(principal: Principal | None) -> tuple[tuple[str, str], ...]:
    if principal is None:
        return ()
    return NAVIGATION + (ADMIN_NAVIGATION if principal.can(Permission.ADMIN) else ())


def _abilities(principal: Principal | None) -> dict[str, bool]:
    """`can.send`, `can.write`, `can.admin` in templates: what buttons to show."""
    return {p.value: principal is not None and principal.can(p) for p in Permission}
