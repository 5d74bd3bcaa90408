"""/account: every user's password form, sessions and own keys (State and Actions columns,
a new key shown once); the header's link to it; the sign-in form keeping the email typed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.factories import make_api_key, make_user
from tests.web.apps import app_client, post_sign_in
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.models import Role


def _page(client: TestClient) -> str:
    answer = client.get("/account")
    assert answer.status_code == 200, answer.text
    text: str = answer.text
    return text


def test_every_role_has_the_page_and_the_header_links_to_it(signed_in: SignedIn) -> None:
    for role in Role:
        with signed_in(role) as client:
            page = _page(client)
            home = client.get("/").text
        assert '<a class="account-link" href="/account">My account</a>' in home
        assert 'href="/account" aria-current="page">My account</a>' in page
        for marker in ('id="password-form"', 'id="sessions-table"', 'id="new-key-form"'):
            assert marker in page, (role, marker)


def test_anonymous_visitors_are_sent_to_sign_in(database_url: str) -> None:
    with app_client(database_url) as client:
        answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/account"


def test_sessions_are_listed_with_this_one_marked(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = _page(client)
    table = page[
        page.index('id="sessions-table"') : page.index(
            "</table>", page.index('id="sessions-table"')
        )
    ]
    assert table.count("<tr data-session-id=") == 1
    assert "this session</span>" in table and "data-current" in table
    assert 'id="end-other-sessions"' in page


def test_own_keys_only_with_state_and_actions_columns(
    signed_in: SignedIn, database_url: str
) -> None:
    database = Database(database_url)
    make_api_key(database, Role.EDITOR, email="someone-else@example.com")
    database.dispose()
    with signed_in(Role.ADMIN) as client:
        kept = client.post("/api/v1/apikeys", json={"name": "CRM sync", "scopes": ["send"]})
        gone = client.post("/api/v1/apikeys", json={"name": "old script"})
        assert client.delete(f"/api/v1/apikeys/{gone.json()['id']}").status_code == 200
        page = _page(client)
    keys = page[
        page.index('id="keys-table"') : page.index("</table>", page.index('id="keys-table"'))
    ]
    assert "someone-else@example.com" not in page
    assert re.findall(r'<th scope="col">([^<]+)</th>', keys) == [
        "Name", "Prefix", "Scopes", "Created", "Last used", "State", "Actions"
    ]  # fmt: skip
    active = _row(keys, kept.json()["id"])
    assert "CRM sync" in active and 'status-completed">active</span>' in active
    assert f'data-key-revoke="{kept.json()["id"]}"' in active and "data-confirm=" in active
    revoked = _row(keys, gone.json()["id"])
    assert 'status-cancelled">revoked</span>' in revoked and "data-key-revoke" not in revoked


def _row(table: str, key_id: int) -> str:
    start = table.index(f'<tr data-key-id="{key_id}"')
    return table[start : table.index("</tr>", start)]


def test_a_created_key_is_shown_once_and_never_again(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        created = client.post("/api/v1/apikeys", json={"name": "CRM sync", "scopes": ["send"]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        page = _page(client)
        listed = client.get("/api/v1/me/keys").text
    assert key not in page and key not in listed
    assert created.json()["prefix"] in page and "CRM sync" in page
    # The page has an empty box the script fills with the answer, and says to store it.
    assert '<code id="new-key-secret" class="secret"></code>' in page
    assert "store it now" in page


def test_the_key_form_offers_no_scope_beyond_the_role(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as viewer:
        assert re.findall(r'name="scopes" value="(\w+)"', _page(viewer)) == ["read"]
    with signed_in(Role.ADMIN) as admin:
        scopes = re.findall(r'name="scopes" value="(\w+)"', _page(admin))
    assert scopes == ["read", "send", "admin"]


def test_the_page_keeps_to_the_content_security_policy_and_labels_its_fields(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as client:
        answer = client.get("/account")
        script = client.get("/static/account.js")
    page = answer.text
    assert '<script src="/static/account.js" defer></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler"
    assert not re.search(r"\sstyle\s*=", page), "an inline style"
    assert script.status_code == 200 and "/api/v1/me/password" in script.text
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    fields = re.findall(
        r'<(?:input|select)\b(?![^>]*type="(?:hidden|checkbox)")[^>]*id="([^"]+)"', page
    )
    assert fields and set(fields) <= labelled, set(fields) - labelled


def test_the_sign_in_form_keeps_the_email_after_a_wrong_password(database_url: str) -> None:
    database = Database(database_url)
    make_user(database, "ana@example.com", Role.EDITOR)
    database.dispose()
    with app_client(database_url) as client:
        fresh = client.get("/login").text
        wrong = post_sign_in(client, "Ana@Example.com", "a wrong password <b>")
    assert 'value=""' in fresh and 'id="email"' in fresh
    assert wrong.status_code == 401
    email = re.search(r'<input id="email"[^>]*>', wrong.text)
    assert email is not None and 'value="Ana@Example.com"' in email[0]
    assert "autofocus" not in email[0]
    password = re.search(r'<input id="password"[^>]*>', wrong.text)
    assert password is not None and "value=" not in password[0] and "autofocus" in password[0]
    assert "a wrong password" not in wrong.text


def test_the_kept_email_is_escaped(database_url: str) -> None:
    with app_client(database_url) as client:
        answer = post_sign_in(client, '"><script>alert(1)</script>', "whatever password")
    assert "<script>alert(1)</script>" not in answer.text
    assert 'value="&#34;&gt;&lt;script&gt;' in answer.text
