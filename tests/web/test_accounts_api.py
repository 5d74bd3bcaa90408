"""Users, API keys and the audit log over the API."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import make_api_key, numbers
from tests.web.apps import app_client, post_sign_in

from textcast.db import Database
from textcast.models import Role


@pytest.fixture
def admin(database_url: str) -> Iterator[TestClient]:
    database = Database(database_url)
    key = make_api_key(database, Role.ADMIN, email="root@example.com")
    database.dispose()
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = key
        yield client


def _user(admin: TestClient, email: str, role: str) -> dict[str, object]:
    answer = admin.post("/api/v1/users", json={"email": email, "role": role})
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created


def _signed_in(admin: TestClient, email: str, password: str) -> TestClient:
    """A browser signed in to the same app, sending its session's CSRF token."""
    browser = TestClient(admin.app)
    assert post_sign_in(browser, email, password).status_code == 303
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/").text)
    assert token is not None
    browser.headers["X-CSRF-Token"] = token[1]
    return browser


def _key_for(admin: TestClient, user_id: object, scopes: list[str]) -> str:
    answer = admin.post("/api/v1/apikeys", json={"name": "k", "scopes": scopes, "user_id": user_id})
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def test_admins_create_users_with_a_generated_password_shown_once(admin: TestClient) -> None:
    created = _user(admin, "  Ana@Example.COM ", "editor")
    assert created["email"] == "ana@example.com" and created["role"] == "editor"
    assert isinstance(created["password"], str) and len(created["password"]) >= 16
    listed = admin.get("/api/v1/users").json()
    assert "password" not in listed[-1] and "password_hash" not in listed[-1]
    again = admin.post("/api/v1/users", json={"email": "ana@example.com"})
    assert again.status_code == 409
    bad = admin.post("/api/v1/users", json={"email": "not-an-email", "password": "x" * 12})
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "email"
    short = admin.post("/api/v1/users", json={"email": "b@example.com", "password": "short"})
    assert short.status_code == 400 and short.json()["problems"][0]["field"] == "password"


def test_the_last_admin_cannot_be_demoted_or_disabled(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    demote = admin.patch(f"/api/v1/users/{me['id']}", json={"role": "viewer"})
    assert demote.status_code == 409 and "last active admin" in demote.json()["message"]
    assert admin.patch(f"/api/v1/users/{me['id']}", json={"disabled": True}).status_code == 409
    other = _user(admin, "second@example.com", "admin")
    assert admin.patch(f"/api/v1/users/{other['id']}", json={"role": "viewer"}).status_code == 200


def test_keys_are_shown_once_and_never_exceed_their_owner(admin: TestClient) -> None:
    editor = _user(admin, "ed@example.com", "editor")
    key = _key_for(admin, editor["id"], ["send"])
    assert key.startswith("tc_")
    listed = admin.get("/api/v1/apikeys").json()
    assert all("key" not in item for item in listed)
    assert key.startswith(listed[-1]["prefix"] + "_")
    over = admin.post(
        "/api/v1/apikeys", json={"name": "x", "scopes": ["admin"], "user_id": editor["id"]}
    )
    assert over.status_code == 400 and over.json()["problems"][0]["field"] == "scopes"
    # The editor, signed in, cannot mint an admin key nor one for others.
    browser = _signed_in(admin, "ed@example.com", str(editor["password"]))
    mine = browser.post("/api/v1/apikeys", json={"name": "ci", "scopes": ["read"]})
    assert mine.status_code == 201 and mine.json()["user_id"] == editor["id"]
    above = browser.post("/api/v1/apikeys", json={"name": "x", "scopes": ["admin"]})
    assert above.status_code == 400 and above.json()["problems"][0]["field"] == "scopes"
    theirs = browser.post("/api/v1/apikeys", json={"name": "x", "scopes": ["read"], "user_id": 1})
    assert theirs.status_code == 403
    assert [k["user_id"] for k in browser.get("/api/v1/apikeys").json()] == [
        editor["id"],
        editor["id"],
    ]


@pytest.mark.parametrize("scope", ["read", "send"])
def test_a_key_without_the_admin_scope_neither_creates_nor_revokes_keys(
    admin: TestClient, scope: str
) -> None:
    """A leaked lesser key could otherwise mint its replacement, or revoke stronger keys."""
    me = admin.get("/api/v1/me").json()
    lesser = _key_for(admin, me["id"], [scope])
    as_lesser = {"X-API-Key": lesser}
    for scopes in (["read"], [scope], ["admin"]):
        made = admin.post(
            "/api/v1/apikeys", json={"name": "more", "scopes": scopes}, headers=as_lesser
        )
        assert made.status_code == 403, scopes
        assert "admin scope" in made.json()["message"]
    for key in admin.get("/api/v1/apikeys").json():  # its own, and its owner's admin key
        revoked = admin.delete(f"/api/v1/apikeys/{key['id']}", headers=as_lesser)
        assert revoked.status_code == 403
    assert not any(key["revoked"] for key in admin.get("/api/v1/apikeys").json())
    assert admin.get("/api/v1/apikeys", headers=as_lesser).status_code == 200  # still reads


def test_an_admin_scoped_key_manages_keys_but_not_above_their_owners(admin: TestClient) -> None:
    editor = _user(admin, "ed@example.com", "editor")
    made = admin.post(
        "/api/v1/apikeys", json={"name": "ci", "scopes": ["send"], "user_id": editor["id"]}
    )
    assert made.status_code == 201
    above = admin.post(
        "/api/v1/apikeys", json={"name": "ci", "scopes": ["admin"], "user_id": editor["id"]}
    )
    assert above.status_code == 400
    assert admin.delete(f"/api/v1/apikeys/{made.json()['id']}").status_code == 200


def test_a_signed_in_viewer_manages_their_own_read_keys(admin: TestClient) -> None:
    viewer = _user(admin, "vi@example.com", "viewer")
    browser = _signed_in(admin, "vi@example.com", str(viewer["password"]))
    made = browser.post("/api/v1/apikeys", json={"name": "reports", "scopes": ["read"]})
    assert made.status_code == 201 and made.json()["user_id"] == viewer["id"]
    above = browser.post("/api/v1/apikeys", json={"name": "x", "scopes": ["send"]})
    assert above.status_code == 400 and "more than the owner" in above.text
    assert browser.delete(f"/api/v1/apikeys/{made.json()['id']}").status_code == 200
    the_admins = admin.get("/api/v1/apikeys").json()[0]
    assert browser.delete(f"/api/v1/apikeys/{the_admins['id']}").status_code == 403


def test_last_used_is_recorded(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    key = _key_for(admin, me["id"], ["read"])
    before = next(k for k in admin.get("/api/v1/apikeys").json() if key.startswith(k["prefix"]))
    assert before["last_used_at"] is None
    admin.get("/api/v1/campaigns", headers={"X-API-Key": key})
    after = next(k for k in admin.get("/api/v1/apikeys").json() if key.startswith(k["prefix"]))
    assert after["last_used_at"] is not None


def test_others_keys_are_revoked_only_by_an_admin(admin: TestClient) -> None:
    viewer = _user(admin, "vi@example.com", "viewer")
    editor = _user(admin, "ed@example.com", "editor")
    viewer_key = _key_for(admin, viewer["id"], ["read"])
    editor_key = _key_for(admin, editor["id"], ["send"])
    editor_key_id = next(
        k["id"] for k in admin.get("/api/v1/apikeys").json() if editor_key.startswith(k["prefix"])
    )
    refused = admin.delete(f"/api/v1/apikeys/{editor_key_id}", headers={"X-API-Key": viewer_key})
    assert refused.status_code == 403
    assert admin.delete(f"/api/v1/apikeys/{editor_key_id}").status_code == 200
    assert admin.get("/api/v1/me", headers={"X-API-Key": editor_key}).status_code == 401


def test_the_audit_log_says_who_did_what(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    campaign = admin.post(
        "/api/v1/campaigns", json={"name": "a", "body": "Hi", "recipients": numbers(2)}
    ).json()
    assert admin.post(f"/api/v1/campaigns/{campaign['id']}/send").status_code == 202
    assert admin.post(f"/api/v1/campaigns/{campaign['id']}/pause").status_code == 200
    assert admin.post(f"/api/v1/campaigns/{campaign['id']}/cancel").status_code == 200
    contact = admin.post("/api/v1/contacts", json={"phone": "+12015550199"}).json()
    erased = admin.delete(f"/api/v1/contacts/{contact['id']}", params={"erase": "true"})
    assert erased.status_code == 200
    imported = admin.post(
        "/api/v1/imports",
        files={"file": ("people.csv", b"phone\n+12015550123\n", "text/csv")},
        data={"consent_confirmed": "true"},
    )
    assert imported.status_code == 202
    entries = admin.get("/api/v1/audit").json()["items"]
    actions = [entry["action"] for entry in reversed(entries)]
    assert actions == [
        "campaign.create",
        "campaign.send",
        "campaign.pause",
        "campaign.cancel",
        "contact.erase",
        "import.create",
    ]
    newest = entries[0]
    assert newest["user_id"] == me["id"]
    assert newest["actor"].startswith("root@example.com (key tc_")
    assert newest["ip"] and newest["at"]
    assert entries[-2]["detail"] == {"recipients": 2}
    only = admin.get("/api/v1/audit", params={"action": "campaign.send"}).json()["items"]
    assert [e["action"] for e in only] == ["campaign.send"]
    page = admin.get("/api/v1/audit", params={"limit": 2}).json()
    rest = admin.get("/api/v1/audit", params={"limit": 10, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) + len(rest["items"]) == len(entries)


def test_key_creation_and_revocation_are_audited(admin: TestClient) -> None:
    me = admin.get("/api/v1/me").json()
    created = admin.post("/api/v1/apikeys", json={"name": "ci", "scopes": ["read"]}).json()
    admin.delete(f"/api/v1/apikeys/{created['id']}")
    entries = admin.get("/api/v1/audit").json()["items"]
    assert [e["action"] for e in entries[:2]] == ["apikey.revoke", "apikey.create"]
    assert entries[1]["detail"]["prefix"] == created["prefix"]
    assert entries[1]["detail"]["owner"] == me["email"]
    assert created["key"] not in str(entries)


def test_a_password_reset_ends_sessions_and_revokes_keys_only_when_asked(
    admin: TestClient,
) -> None:
    editor = _user(admin, "ed@example.com", "editor")
    browser = _signed_in(admin, "ed@example.com", str(editor["password"]))
    first = _key_for(admin, editor["id"], ["send"])
    reset = admin.patch(f"/api/v1/users/{editor['id']}", json={"password": "a new password 1"})
    assert reset.status_code == 200, reset.text
    assert (reset.json()["api_keys_revoked"], reset.json()["api_keys_active"]) == (0, 1)
    assert browser.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me", headers={"X-API-Key": first}).status_code == 200
    second = _key_for(admin, editor["id"], ["read"])
    revoking = admin.patch(
        f"/api/v1/users/{editor['id']}",
        json={"password": "another password 2", "revoke_api_keys": True},
    )
    assert (revoking.json()["api_keys_revoked"], revoking.json()["api_keys_active"]) == (2, 0)
    for key in (first, second):
        assert admin.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    trail = admin.get("/api/v1/audit", params={"action": "user.update"}).json()["items"]
    assert [entry["detail"] for entry in trail] == [
        {"password_changed": True, "api_keys_revoked": 2},
        {"password_changed": True},
    ]
    assert "password 2" not in str(trail)
    unclear = admin.patch(f"/api/v1/users/{editor['id']}", json={"revoke_api_keys": "yes"})
    assert unclear.status_code == 400
    assert unclear.json()["problems"][0]["field"] == "revoke_api_keys"
