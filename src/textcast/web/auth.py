"""Who is calling, and may they: API keys, dashboard sessions, CSRF, per-caller rate limit.

Every router outside the public allowlist declares a guard (`guard(Permission.READ)` on the
router, a stricter alias on routes that change things); `tests/web/test_route_guards.py`
enumerates the app's routes to prove it.
"""

from __future__ import annotations

import dataclasses
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsMarker
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from textcast.domain.accounts import api_keys, sessions
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.errors import Forbidden, Unauthenticated
from textcast.models import utcnow
from textcast.web.deps import get_runtime
from textcast.web.errors import problem_response
from textcast.web.rate_limits import RateLimits

SESSION_COOKIE = "textcast_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tc_...`.")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A dashboard session; state-changing requests also need `X-CSRF-Token`.",
)


def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
    session_token: Annotated[str | None, Depends(_session_cookie)],
) -> Principal:
    """The caller, from `Authorization: Bearer <key>` / `X-API-Key`, or the session cookie."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    key = bearer.credentials if bearer is not None else api_key
    principal = authenticate(request, key, session_token)
    request.state.principal = principal
    return principal


def authenticate(request: Request, key: str | None, session_token: str | None) -> Principal:
    """The caller presenting this key or session, counted against the per-caller rate limit."""
    if key:
        principal = _principal_for_key(request, key)
        caller = f"key:{principal.key_id}"
    elif session_token:
        principal = _principal_for_session(request, session_token)
        caller = f"user:{principal.user_id}"
    else:
        raise Unauthenticated(
            "sign in, or send an API key as `Authorization: Bearer <key>` or `X-API-Key`"
        )
    rate_limits(request).hit_api(caller)
    return dataclasses.replace(principal, ip=client_ip(request))


def _principal_for_session(request: Request, token: str) -> Principal:
    with get_runtime(request).database.read() as session:
        principal = sessions.principal_for_session(session, token)
    if principal is None:
        raise Unauthenticated("the session has expired; sign in again")
    if request.method not in SAFE_METHODS:
        check_csrf(principal, request.headers.get(CSRF_HEADER))
    return principal


def _principal_for_key(request: Request, key: str) -> Principal:
    runtime = get_runtime(request)
    with runtime.database.read() as session:
        found = api_keys.principal_for_key(session, key)
    if found is None:
        raise Unauthenticated("the API key is unknown or revoked")
    principal, last_used = found
    now = utcnow()
    if principal.key_id is not None and (
        last_used is None or now - last_used >= api_keys.LAST_USED_RESOLUTION
    ):
        with runtime.database.write() as session:
            api_keys.touch(session, principal.key_id, now)
    return principal


def check_csrf(principal: Principal, presented: str | None, where: str = CSRF_HEADER) -> None:
    """A session's state change carries its CSRF token (`where`: the header or form field)."""
    expected = principal.csrf_token or ""
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Forbidden(f"missing or wrong CSRF token (send it as {where})")


def require(permission: Permission) -> DependsMarker:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise Forbidden(f"this needs the {permission.value} permission")
        return principal

    check.__name__ = f"require_{permission.value}"
    marker: DependsMarker = Depends(check)
    return marker


def _manages_keys(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.manages_keys:
        raise Forbidden(
            "creating or revoking API keys needs a key with the admin scope, "
            "or signing in to the dashboard"
        )
    return principal


KeyManager = Annotated[Principal, Depends(_manages_keys)]
"""Creates and revokes API keys: a signed-in user, or a key with the admin scope."""


def _manages_own_account(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not principal.manages_keys:
        raise Forbidden(
            "changing your password or sessions needs a key with the admin scope, "
            "or signing in to the dashboard"
        )
    return principal


AccountOwner = Annotated[Principal, Depends(_manages_own_account)]
"""Changes their own password and sessions: a signed-in user, or a key with the admin scope
(the same rule as for keys: a leaked lesser key must not lock its owner out)."""


_READ = require(Permission.READ)
_WRITE = require(Permission.WRITE)
_SEND = require(Permission.SEND)
_ADMIN = require(Permission.ADMIN)


def guard(permission: Permission) -> DependsMarker:
    """For `APIRouter(dependencies=[...])` and `@router.post(..., dependencies=[...])`."""
    return {
        Permission.READ: _READ,
        Permission.WRITE: _WRITE,
        Permission.SEND: _SEND,
        Permission.ADMIN: _ADMIN,
    }[permission]


Reader = Annotated[Principal, _READ]
Writer = Annotated[Principal, _WRITE]
Sender = Annotated[Principal, _SEND]
Administrator = Annotated[Principal, _ADMIN]


class AdminOnlyUnder:
    """Wraps the mounted Sinch simulator: from outside, it is for admins only.

    A request carrying `own_token` (the simulator's API token, known to this installation's
    own Sinch client only) passes to its Sinch endpoints, which check the token themselves.
    Every other request needs a signed-in admin (session or admin-scoped key), and the paths
    containing `marker` (`/_simulator/…`: ledger, faults, injected inbound messages) always do:
    the batches list numbers and bodies, and posting one makes this server send callbacks."""

    def __init__(self, app: ASGIApp, marker: str, *, own_token: str) -> None:
        self.app = app
        self.marker = marker
        self._own_authorization = f"bearer {own_token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._own_client(scope):
            request = Request(scope)
            try:
                principal = await run_in_threadpool(
                    authenticate,
                    request,
                    _key_from_headers(request),
                    request.cookies.get(SESSION_COOKIE),
                )
                if not principal.can(Permission.ADMIN):
                    raise Forbidden("this needs the admin permission")
            except Unauthenticated as exc:
                await problem_response(401, "unauthenticated", str(exc))(scope, receive, send)
                return
            except Forbidden as exc:
                await problem_response(403, "forbidden", str(exc))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _own_client(self, scope: Scope) -> bool:
        if self.marker in scope["path"]:
            return False
        presented = Headers(scope=scope).get("authorization", "")
        scheme, _, token = presented.partition(" ")
        return hmac.compare_digest(
            f"{scheme.lower()} {token.strip()}".encode(), self._own_authorization
        )


def _key_from_headers(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key")
