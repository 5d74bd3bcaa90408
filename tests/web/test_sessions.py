"""Dashboard sign-in: CSRF on every form, cookie flags, throttling, sign-out, headers."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.factories import PASSWORD, make_user
from tests.servers import serving
from tests.web.apps import app_client, post_sign_in

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.models import AuditEntry, Role, UserSession, utcnow
from textcast.web.app import create_app

EMAIL = "ana@example.com"


def _sign_in(
    client: TestClient, password: str = PASSWORD, email: str = EMAIL, **form: str
) -> httpx.Response:
    return post_sign_in(client, email, password, **form)


@pytest.fixture
def database(database_url: str) -> Database:
    db = Database(database_url)
    make_user(db, EMAIL, Role.EDITOR)
    return db


def test_signing_in_sets_a_strict_session_cookie(database_url: str, database: Database) -> None:
    with app_client(database_url) as client:
        answer = _sign_in(client)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"]
        assert "textcast_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # plain HTTP here; see the next test
        me = client.get("/api/v1/me").json()
        assert (me["email"], me["role"], me["via"]) == (EMAIL, "editor", "session")
        home = client.get("/")
        assert home.status_code == 200 and EMAIL in home.text


def test_the_cookie_is_secure_behind_https(database_url: str, database: Database) -> None:
    with app_client(database_url, base_url="https://textcast.example") as client:
        answer = _sign_in(client)
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]


def test_the_sign_in_form_needs_its_csrf_token(database_url: str, database: Database) -> None:
    with app_client(database_url) as client:
        assert client.get("/login").status_code == 200  # sets the form's CSRF cookie
        forged = client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": "forged"},
            follow_redirects=False,
        )
        assert forged.status_code == 403
        assert "textcast_session" not in forged.headers.get("set-cookie", "")
        client.cookies.clear()
        missing = client.post(
            "/login", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False
        )
        assert missing.status_code == 403


def test_state_changes_through_a_session_need_the_csrf_header(
    database_url: str, database: Database
) -> None:
    with app_client(database_url) as client:
        _sign_in(client)
        home = client.get("/").text
        match = re.search(r'name="csrf-token" content="([^"]+)"', home)
        assert match is not None
        draft = {"name": "Spring", "body": "Sale", "recipients": ["+12015550100"]}
        refused = client.post("/api/v1/campaigns", json=draft)
        assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
        wrong = client.post("/api/v1/campaigns", json=draft, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        made = client.post("/api/v1/campaigns", json=draft, headers={"X-CSRF-Token": match[1]})
        assert made.status_code == 201
        # Reads need no token.
        assert client.get("/api/v1/campaigns").status_code == 200


def test_sign_out_needs_the_token_and_ends_the_session(
    database_url: str, database: Database
) -> None:
    with app_client(database_url) as client:
        _sign_in(client)
        session_cookie = client.cookies["textcast_session"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert token is not None
        assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
        out = client.post("/logout", data={"csrf_token": token[1]}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        client.cookies.set("textcast_session", session_cookie)  # a stolen copy is dead too
        assert client.get("/api/v1/me").status_code == 401


def test_wrong_passwords_are_refused_and_audited(database_url: str, database: Database) -> None:
    with app_client(database_url) as client:
        assert _sign_in(client, "wrong password!").status_code == 401
        assert _sign_in(client, email="nobody@example.com").status_code == 401
    with database.read() as session:
        from textcast.domain.accounts import audit

        failures = audit.entries(session, action="login.failure")
    assert {entry.actor for entry in failures} == {EMAIL, "nobody@example.com"}
    assert all(entry.ip for entry in failures)


def test_sign_in_is_throttled_per_account(database_url: str, database: Database) -> None:
    with app_client(database_url, login_limit_per_account="3/15 minutes") as client:
        for _ in range(3):
            assert _sign_in(client, "wrong password!").status_code == 401
        throttled = _sign_in(client)  # even the right password now waits
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
        assert "textcast_session" not in throttled.headers.get("set-cookie", "")


def test_guessing_does_not_lock_the_owner_out(
    database_url: str, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with app_client(database_url, login_limit_per_account="3/15 minutes") as guesser:
        for _ in range(3):
            assert _sign_in(guesser, "wrong password!").status_code == 401
        assert _sign_in(guesser).status_code == 429  # the guessing address: not even if right
        # The account is throttled now: another address gets one guess, not three.
        second = TestClient(guesser.app, client=("203.0.113.7", 40000))
        assert _sign_in(second, "wrong again!").status_code == 401
        assert _sign_in(second, "wrong once more!").status_code == 429
        assert _sign_in(second).status_code == 429
        # The owner, from an address that has not tried this account, signs in.
        owner = TestClient(guesser.app, client=("198.51.100.20", 40000))
        with caplog.at_level(logging.WARNING, logger="textcast.signin"):
            assert _sign_in(owner).status_code == 303
        assert owner.get("/api/v1/me").json()["email"] == EMAIL
        assert "someone may be guessing" in caplog.text and EMAIL not in caplog.text
        assert _sign_in(guesser).status_code == 429  # its own failures still count
    with database.read() as session:
        success = audit.entries(session, action="login.success")
    assert [(e.ip, e.detail) for e in success] == [
        ("198.51.100.20", {"past_account_throttle": True})
    ]


def test_sign_in_is_throttled_per_address(database_url: str, database: Database) -> None:
    with app_client(database_url, login_limit_per_ip="4/15 minutes") as client:
        for n in range(4):
            assert _sign_in(client, email=f"guess{n}@example.com").status_code == 401
        assert _sign_in(client).status_code == 429


def _sign_in_failures(database: Database) -> list[AuditEntry]:
    with database.read() as session:
        return audit.entries(session, action="login.failure", limit=1000)


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(
    database_url: str, database: Database
) -> None:
    """The review's race: many wrong passwords at once for one account, over a real server
    whose sign-in handler checks passwords in parallel threads."""
    attempts = 40
    settings = load_settings(database_url=database_url, secret_key="tests")
    with serving(create_app(settings, dispatch=False, simulator=False)) as url:
        with httpx.Client(base_url=url) as browser:
            form = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
            assert form is not None
            cookies = dict(browser.cookies)
        start = threading.Barrier(attempts)

        def guess(n: int) -> int:
            with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
                start.wait()
                data = {"email": EMAIL, "password": f"guess number {n}", "csrf_token": form[1]}
                return client.post("/login", data=data).status_code

        with ThreadPoolExecutor(attempts) as pool:
            answers = list(pool.map(guess, range(attempts)))
    checked = [e for e in _sign_in_failures(database) if e.detail["reason"] == "credentials"]
    assert len(checked) <= 5  # LOGIN_LIMIT_PER_ACCOUNT's default
    assert answers.count(401) == len(checked)
    assert answers.count(429) == attempts - len(checked)


def test_a_success_clears_the_account_s_failures(database_url: str, database: Database) -> None:
    with app_client(database_url, login_limit_per_account="3/15 minutes") as client:
        for _ in range(2):
            _sign_in(client, "wrong password!")
        assert _sign_in(client).status_code == 303
        client.cookies.clear()
        for _ in range(2):
            assert _sign_in(client, "wrong password!").status_code == 401


def test_sessions_expire_on_the_server(database_url: str, database: Database) -> None:
    with app_client(database_url, session_hours=1) as client:
        _sign_in(client)
        token = client.cookies["textcast_session"]
        assert client.get("/api/v1/me").status_code == 200
        # Its hour is over (set in the table rather than waited for: a slow machine would
        # otherwise see a short session expire before the first request).
        with database.write() as session:
            session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        client.cookies.set("textcast_session", token)  # a client that ignores Max-Age
        assert client.get("/api/v1/me").status_code == 401


def test_disabling_a_user_ends_their_sessions(database_url: str, database: Database) -> None:
    from tests.factories import make_api_key

    admin_key = make_api_key(database, Role.ADMIN)
    with app_client(database_url) as client:
        _sign_in(client)
        users = client.get("/api/v1/users", headers={"X-API-Key": admin_key}).json()
        ana = next(u for u in users if u["email"] == EMAIL)
        patched = client.patch(
            f"/api/v1/users/{ana['id']}", json={"disabled": True}, headers={"X-API-Key": admin_key}
        )
        assert patched.status_code == 200 and patched.json()["disabled"] is True
        assert client.get("/api/v1/me").status_code == 401
        assert _sign_in(client).status_code == 401


def test_redirects_after_sign_in_stay_on_this_site(database_url: str, database: Database) -> None:
    with app_client(database_url) as client:
        for target, expected in [
            ("/api/v1/me", "/api/v1/me"),
            ("//evil.example/x", "/"),
            ("https://evil.example", "/"),
            ("/\\evil.example", "/"),
        ]:
            client.cookies.clear()
            answer = _sign_in(client, next=target)
            assert answer.headers["location"] == expected, target


def test_pages_carry_the_security_headers_and_no_inline_script(
    database_url: str, database: Database
) -> None:
    with app_client(database_url) as client:
        page = client.get("/login")
        policy = page.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["default-src"] == "'self'"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text)  # no inline event handlers
        api = client.get("/healthz")
        assert api.headers["x-content-type-options"] == "nosniff"
