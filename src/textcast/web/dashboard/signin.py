"""Signing in and out of the dashboard.

Forms carry a CSRF token: the sign-in form a double-submit token (its cookie and its field
must match, as nobody is signed in yet), every other form the session's own token.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from textcast.domain.accounts import users
from textcast.domain.accounts.audit import Actor
from textcast.domain.errors import TooManyRequests
from textcast.services import accounts
from textcast.web.auth import SESSION_COOKIE, check_csrf, client_ip, rate_limits
from textcast.web.dashboard.shell import render, signed_in
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
log = logging.getLogger("textcast.signin")
LOGIN_CSRF_COOKIE = "textcast_login_csrf"
MAX_FIELD_CHARS = 300


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never `//evil.example` or an absolute URL."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    if signed_in(request) is not None:
        return RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    return _login_page(request, next)


def _login_page(
    request: Request,
    next: str | None,
    error: str | None = None,
    status_code: int = 200,
    email: str = "",
) -> Response:
    """The form; after a refused attempt, its error and the email typed (never the password)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        csrf_token=token,
        next=_safe_next(next),
        error=error,
        email=email,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=MAX_FIELD_CHARS)],
    password: Annotated[str, Form(max_length=MAX_FIELD_CHARS)],
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "",
    next: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, next, "The form expired; please sign in again.", 403, email)
    address = email.strip().lower()[: users.MAX_EMAIL_CHARS]
    ip = client_ip(request)
    limits = rate_limits(request)
    try:
        attempt = limits.admit_sign_in(address, ip)
    except TooManyRequests as exc:
        accounts.record_throttled_sign_in(runtime.database, address, ip)
        response = _login_page(request, next, f"Too many attempts. {exc}", 429, email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    signed = accounts.sign_in(
        runtime.database,
        address,
        password,
        ip=ip,
        lifetime=timedelta(hours=runtime.settings.session_hours),
        past_account_throttle=attempt.past_account_limit,
    )
    if signed is None:
        return _login_page(request, next, "Wrong email or password.", 401, email)
    limits.sign_in_succeeded(address, ip)
    if attempt.past_account_limit:
        log.warning(
            "user %s signed in from an address new to the account while its failed sign-ins "
            "throttle other addresses; someone may be guessing its password",
            signed.user.id,
        )
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        signed.opened.token,
        max_age=int(runtime.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD_CHARS)] = "",
) -> Response:
    principal = signed_in(request)
    if principal is not None:
        check_csrf(principal, csrf_token, "the csrf_token field")
        actor = Actor(principal.email, principal.user_id, client_ip(request))
        accounts.sign_out(runtime.database, actor, principal.session_digest or "")
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response
