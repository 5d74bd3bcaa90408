"""`/api/v1/me/...`: every user's own password, sessions and keys, over HTTP on both engines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import PASSWORD, make_api_key, make_user
from tests.web.apps import app_client, post_sign_in

from textcast.db import Database
from textcast.models import AuditEntry, Role, User

EMAIL = "ana@example.com"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    make_user(db, EMAIL, Role.EDITOR)
    yield db
    db.dispose()


def _signed_in(
    stack: ExitStack, database_url: str, password: str = PASSWORD, **settings: object
) -> TestClient:
    """A browser-like client signed in as EMAIL, sending its session's CSRF header."""
    client = stack.enter_context(app_client(database_url, **settings))
    answer = post_sign_in(client, EMAIL, password)
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert csrf is not None
    client.headers["X-CSRF-Token"] = csrf[1]
    return client


def _actions(database: Database) -> list[tuple[str, str | None, dict[str, object]]]:
    with database.read() as session:
        return [
            (e.action, e.target, e.detail)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def _hash(database: Database) -> str:
    with database.read() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        return user.password_hash


def test_a_user_changes_their_password_and_their_other_sessions_end(
    database_url: str, database: Database
) -> None:
    with ExitStack() as stack:
        here = _signed_in(stack, database_url)
        elsewhere = _signed_in(stack, database_url)
        assert elsewhere.get("/api/v1/me").status_code == 200
        changed = here.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"sessions_ended": 1}
        assert here.get("/api/v1/me").status_code == 200  # this session stays
        assert elsewhere.get("/api/v1/me").status_code == 401
        fresh = stack.enter_context(app_client(database_url))
        assert post_sign_in(fresh, EMAIL, PASSWORD).status_code == 401
        assert post_sign_in(fresh, EMAIL, NEW_PASSWORD).status_code == 303
    user_id = _user_id(database)
    assert ("user.password_change", f"user:{user_id}", {"sessions_ended": 1}) in _actions(database)
    assert NEW_PASSWORD not in str(_actions(database))


def _user_id(database: Database) -> int:
    with database.read() as session:
        found = session.scalar(select(User.id).where(User.email == EMAIL))
    assert found is not None
    return found


def test_a_wrong_current_password_is_named_changes_nothing_and_is_a_failed_sign_in(
    database_url: str, database: Database
) -> None:
    before = _hash(database)
    with ExitStack() as stack:
        here = _signed_in(stack, database_url)
        elsewhere = _signed_in(stack, database_url)
        wrong = here.post(
            "/api/v1/me/password",
            json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 400, wrong.text
        assert wrong.json()["problems"] == [
            {"field": "current_password", "message": "is not your current password"}
        ]
        assert elsewhere.get("/api/v1/me").status_code == 200
    assert _hash(database) == before
    failures = [a for a in _actions(database) if a[0] == "login.failure"]
    assert failures == [
        ("login.failure", f"user:{_user_id(database)}", {"reason": "current_password"})
    ]
    assert not [a for a in _actions(database) if a[0] == "user.password_change"]


def test_the_new_password_follows_the_rules_in_words(database_url: str, database: Database) -> None:
    with ExitStack() as stack:
        client = _signed_in(stack, database_url)
        short = client.post(
            "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}
        )
        same = client.post(
            "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD}
        )
        empty = client.post("/api/v1/me/password", json={})
    assert short.status_code == 400
    assert short.json()["problems"] == [
        {"field": "new_password", "message": "must be at least 10 characters"}
    ]
    assert same.json()["problems"] == [
        {"field": "new_password", "message": "must differ from your current password"}
    ]
    assert [p["field"] for p in empty.json()["problems"]] == ["current_password", "new_password"]
    assert not [a for a in _actions(database) if a[0] == "user.password_change"]


def test_guessing_the_current_password_is_throttled_like_signing_in(
    database_url: str, database: Database
) -> None:
    with ExitStack() as stack:
        client = _signed_in(stack, database_url, login_limit_per_account="3/15 minutes")
        answers = [
            client.post(
                "/api/v1/me/password",
                json={"current_password": f"guess number {n}", "new_password": NEW_PASSWORD},
            )
            for n in range(4)
        ]
        right = client.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].headers["Retry-After"]
    assert right.status_code == 429  # even the right one, until the window passes
    reasons = [a[2].get("reason") for a in _actions(database) if a[0] == "login.failure"]
    assert reasons == ["current_password"] * 3 + ["throttled"] * 2


def test_sessions_are_listed_and_ended_one_or_all_others(
    database_url: str, database: Database
) -> None:
    with ExitStack() as stack:
        here = _signed_in(stack, database_url)
        second = _signed_in(stack, database_url)
        third = _signed_in(stack, database_url)
        listed = here.get("/api/v1/me/sessions").json()
        assert len(listed) == 3
        assert [s["current"] for s in listed].count(True) == 1
        assert set(listed[0]) == {"id", "created_at", "expires_at", "current"}
        current = next(s for s in listed if s["current"])
        seconds = {s["id"] for s in second.get("/api/v1/me/sessions").json() if s["current"]}
        (second_id,) = seconds
        ended = here.delete(f"/api/v1/me/sessions/{second_id}")
        assert ended.status_code == 200, ended.text
        assert ended.json()["id"] == second_id and ended.json()["current"] is False
        assert second.get("/api/v1/me").status_code == 401
        assert third.get("/api/v1/me").status_code == 200
        assert here.delete(f"/api/v1/me/sessions/{second_id}").status_code == 404
        others = here.post("/api/v1/me/sessions/end-others")
        assert others.json() == {"sessions_ended": 1}
        assert third.get("/api/v1/me").status_code == 401
        assert [s["id"] for s in here.get("/api/v1/me/sessions").json()] == [current["id"]]
        # Signing out this very session from the list works too.
        assert here.delete(f"/api/v1/me/sessions/{current['id']}").status_code == 200
        assert here.get("/api/v1/me").status_code == 401
    actions = [a[0] for a in _actions(database)]
    assert actions.count("session.end") == 2 and actions.count("session.end_others") == 1


def test_nobody_ends_another_users_session(database_url: str, database: Database) -> None:
    make_user(database, "bob@example.com", Role.ADMIN)
    with ExitStack() as stack:
        ana = _signed_in(stack, database_url)
        (ana_id,) = [s["id"] for s in ana.get("/api/v1/me/sessions").json()]
        bob = stack.enter_context(app_client(database_url))
        assert post_sign_in(bob, "bob@example.com", PASSWORD).status_code == 303
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', bob.get("/").text)
        assert csrf is not None
        bob.headers["X-CSRF-Token"] = csrf[1]
        assert bob.delete(f"/api/v1/me/sessions/{ana_id}").status_code == 404
        assert ana_id not in {s["id"] for s in bob.get("/api/v1/me/sessions").json()}
        assert ana.get("/api/v1/me").status_code == 200


def test_own_keys_are_only_ones_own_even_for_an_admin(
    database_url: str, database: Database
) -> None:
    admin_key = make_api_key(database, Role.ADMIN, email="boss@example.com")
    with ExitStack() as stack:
        ana = _signed_in(stack, database_url)
        made = ana.post("/api/v1/apikeys", json={"name": "CRM sync", "scopes": ["send"]})
        assert made.status_code == 201
        mine = ana.get("/api/v1/me/keys").json()
        assert [k["name"] for k in mine] == ["CRM sync"]
        assert "key" not in mine[0] and mine[0]["revoked"] is False
        boss = stack.enter_context(app_client(database_url))
        boss.headers["Authorization"] = f"Bearer {admin_key}"
        boss_keys = boss.get("/api/v1/me/keys").json()
        assert [k["user_id"] for k in boss_keys] == [boss.get("/api/v1/me").json()["id"]]
        assert len(boss.get("/api/v1/apikeys").json()) == 2


def test_with_an_api_key_only_the_admin_scope_changes_the_account(
    database_url: str, database: Database
) -> None:
    admin_key = make_api_key(database, Role.ADMIN, email="admin@example.com")
    with app_client(database_url) as client:
        read_only = make_api_key(database, Role.VIEWER, email="viewer@example.com")
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        refused = client.post(
            "/api/v1/me/password", json=body, headers={"Authorization": f"Bearer {read_only}"}
        )
        assert refused.status_code == 403
        assert "signing in to the dashboard" in refused.json()["message"]
        sessions = client.get(
            "/api/v1/me/sessions", headers={"Authorization": f"Bearer {read_only}"}
        )
        assert sessions.status_code == 200 and sessions.json() == []
        allowed = client.post(
            "/api/v1/me/password", json=body, headers={"Authorization": f"Bearer {admin_key}"}
        )
        assert allowed.status_code == 200, allowed.text
        assert allowed.json() == {"sessions_ended": 0}


def test_the_endpoints_are_documented(database_url: str) -> None:
    with app_client(database_url) as client:
        document = client.get("/openapi.json", headers=_admin(database_url)).json()
    paths = document["paths"]
    password = paths["/api/v1/me/password"]["post"]
    assert password["summary"] and {"200", "400", "401", "403", "429"} <= set(password["responses"])
    assert (
        "description"
        in document["components"]["schemas"]["PasswordIn"]["properties"]["new_password"]
    )
    assert "get" in paths["/api/v1/me/sessions"] and "get" in paths["/api/v1/me/keys"]
    assert "404" in paths["/api/v1/me/sessions/{session_id}"]["delete"]["responses"]


def _admin(database_url: str) -> dict[str, str]:
    database = Database(database_url)
    try:
        return {"X-API-Key": make_api_key(database, Role.ADMIN, email="docs@example.com")}
    finally:
        database.dispose()


def test_a_user_chooses_the_time_zone_their_times_show_in(
    database_url: str, database: Database
) -> None:
    with ExitStack() as stack:
        client = _signed_in(stack, database_url)
        assert client.get("/api/v1/me").json()["display_time_zone"] is None

        refused = client.patch("/api/v1/me", json={"display_time_zone": "Europe/Atlantis"})
        assert refused.status_code == 400
        assert refused.json()["problems"] == [
            {
                "field": "display_time_zone",
                "message": "'Europe/Atlantis' is not a time zone name: use one such as "
                "Europe/Paris, America/New_York or UTC",
            }
        ]
        assert _actions(database)[-1][0] == "login.success"  # a refusal writes nothing

        chosen = client.patch("/api/v1/me", json={"display_time_zone": "Europe/Paris"})
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["display_time_zone"] == "Europe/Paris"
        assert client.get("/api/v1/me").json()["display_time_zone"] == "Europe/Paris"
        # Pages render times in it, with UTC on hover.
        assert '<meta name="display-time-zone" content="Europe/Paris">' in client.get("/").text

        back = client.patch("/api/v1/me", json={"display_time_zone": None})
        assert back.json()["display_time_zone"] is None
    user_id = _user_id(database)
    assert _actions(database)[-2:] == [
        ("user.display_time_zone", f"user:{user_id}", {"zone": "Europe/Paris"}),
        ("user.display_time_zone", f"user:{user_id}", {"zone": "browser"}),
    ]


def test_a_lesser_key_does_not_change_its_owners_preferences(
    database_url: str, database: Database
) -> None:
    key = make_api_key(database, Role.EDITOR)
    with app_client(database_url) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        answer = client.patch("/api/v1/me", json={"display_time_zone": "UTC"})
        assert answer.status_code == 403


def _user_id(database: Database) -> int:
    with database.read() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        return user.id


def test_end_others_is_not_read_as_a_session_id(database_url: str, database: Database) -> None:
    """`/me/sessions/end-others` answers POST alone: DELETE there is not "end the session
    whose id is end-others" (the schema documents no DELETE on it)."""
    with ExitStack() as stack:
        client = _signed_in(stack, database_url)
        wrong = client.delete("/api/v1/me/sessions/end-others")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "POST"
        assert client.post("/api/v1/me/sessions/end-others").status_code == 200
