"""Accounts' use cases: each commits its change with its audit entry; a refusal writes nothing."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.factories import PASSWORD, make_user

from textcast.db import Database
from textcast.domain.accounts import audit, passwords, sessions
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import ROLE_PERMISSIONS, Principal, Scope
from textcast.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from textcast.models import ApiKey, Role, User, UserSession
from textcast.services import accounts

ADMIN = Actor("boss@example.com", None, "192.0.2.1")


def trail(database: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    """The audit log, oldest first: who, what, on what, details."""
    with database.read() as session:
        entries = audit.entries(session, limit=1000)
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(entries)]


def principal(user: User) -> Principal:
    return Principal(user.id, user.email, user.role, ROLE_PERMISSIONS[user.role])


def test_a_new_user_is_committed_with_its_entry_and_a_generated_password(
    database: Database,
) -> None:
    created = accounts.create_user(database, ADMIN, " Ana@Example.com ", None, Role.EDITOR)
    chosen = accounts.create_user(database, audit.CLI, "bo@example.com", PASSWORD, Role.VIEWER)
    assert created.password is not None
    assert chosen.password is None
    with database.read() as session:
        ana = session.get(User, created.user.id)
        assert ana is not None
        assert ana.email == "ana@example.com"
        assert passwords.verify_password(ana.password_hash, created.password)
    assert trail(database) == [
        ("boss@example.com", "user.create", f"user:{created.user.id}", {"role": "editor"}),
        ("cli", "user.create", f"user:{chosen.user.id}", {"role": "viewer"}),
    ]


@pytest.mark.parametrize(
    ("email", "password", "refusal"),
    [
        ("not an address", PASSWORD, InvalidInput),
        ("admin@example.com", PASSWORD, Conflict),
        ("new@example.com", "short", InvalidInput),
    ],
)
def test_a_refused_user_writes_nothing(
    database: Database, email: str, password: str, refusal: type[Exception]
) -> None:
    make_user(database)
    with pytest.raises(refusal):
        accounts.create_user(database, ADMIN, email, password, Role.VIEWER)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
    assert trail(database) == []


def test_the_first_admin_is_made_once_on_an_empty_database(database: Database) -> None:
    password = accounts.create_first_admin(database, audit.CLI, "Root@Example.com")
    again = accounts.create_first_admin(database, audit.CLI, "other@example.com")
    assert password is not None
    assert again is None
    with database.read() as session:
        assert [(u.email, u.role) for u in session.scalars(select(User))] == [
            ("root@example.com", Role.ADMIN)
        ]
    assert trail(database) == [("cli", "user.create", "Root@Example.com", {"role": "admin"})]


def test_changing_a_user_by_id_or_email_ends_sessions_and_revokes_keys_when_asked(
    database: Database,
) -> None:
    make_user(database)
    editor = make_user(database, "ed@example.com", Role.EDITOR)
    with database.write() as session:
        session.add(
            UserSession(
                digest="d" * 64,
                user_id=editor.id,
                csrf_token="c",
                expires_at=editor.created_at + timedelta(days=1),
            )
        )
    accounts.create_key(database, ADMIN, editor.id, "ci", frozenset({Scope.READ}))
    change = accounts.change_user(
        database, ADMIN, editor.id, role=Role.VIEWER, password="another long password"
    )
    disabled = accounts.change_user(
        database, audit.CLI, " ED@example.com", disabled=True, revoke_api_keys=True
    )
    assert (change.api_keys_revoked, change.api_keys_active) == (0, 1)
    assert (disabled.api_keys_revoked, disabled.api_keys_active) == (1, 0)
    with database.read() as session:
        stored = session.get(User, editor.id)
        assert stored is not None
        assert stored.role == Role.VIEWER
        assert stored.disabled_at is not None
        assert session.scalar(select(func.count()).select_from(UserSession)) == 0
    target = f"user:{editor.id}"
    assert trail(database)[1:] == [
        (ADMIN.label, "user.update", target, {"role": "viewer", "password_changed": True}),
        ("cli", "user.update", target, {"disabled": True, "api_keys_revoked": 1}),
    ]


def test_a_refused_change_writes_nothing(database: Database) -> None:
    admin = make_user(database)
    with pytest.raises(Conflict, match="last active admin"):
        accounts.change_user(database, ADMIN, admin.id, role=Role.VIEWER)
    with pytest.raises(NotFound):
        accounts.change_user(database, ADMIN, "nobody@example.com", disabled=True)
    with pytest.raises(NotFound):
        accounts.change_user(database, ADMIN, admin.id + 1, disabled=True)
    with database.read() as session:
        stored = session.get(User, admin.id)
        assert stored is not None
        assert (stored.role, stored.disabled_at) == (Role.ADMIN, None)
    assert trail(database) == []


def test_keys_are_created_and_revoked_with_their_entries(database: Database) -> None:
    admin = make_user(database)
    created = accounts.create_key(database, audit.CLI, None, "ci", frozenset({Scope.SEND}))
    assert created.owner.id == admin.id
    assert created.secret.startswith(created.key.prefix)
    revoked = accounts.revoke_key(database, ADMIN, created.key.id, caller=principal(admin))
    assert revoked.revoked_at is not None
    with database.read() as session:
        stored = session.get(ApiKey, created.key.id)
        assert stored is not None
        assert stored.revoked_at is not None
    target = f"apikey:{created.key.id}"
    prefix = created.key.prefix
    detail = {"prefix": prefix, "owner": admin.email, "scopes": "send"}
    assert trail(database) == [
        ("cli", "apikey.create", target, detail),
        (ADMIN.label, "apikey.revoke", target, {"prefix": prefix}),
    ]


def test_only_an_admin_manages_somebody_elses_keys_and_a_refusal_writes_nothing(
    database: Database,
) -> None:
    admin = make_user(database)
    editor = principal(make_user(database, "ed@example.com", Role.EDITOR))
    actor = Actor(editor.email, editor.user_id)
    owned = accounts.create_key(database, ADMIN, admin.id, "ci", frozenset({Scope.READ}))
    before = trail(database)
    with pytest.raises(Forbidden):
        accounts.create_key(database, actor, admin.id, "x", frozenset({Scope.READ}), caller=editor)
    with pytest.raises(Forbidden):
        accounts.revoke_key(database, actor, owned.key.id, caller=editor)
    with pytest.raises(InvalidInput):  # more than an editor's role allows
        accounts.create_key(
            database, actor, editor.user_id, "x", frozenset({Scope.ADMIN}), caller=editor
        )
    with pytest.raises(NotFound):
        accounts.revoke_key(database, ADMIN, owned.key.id + 1)
    with database.read() as session:
        keys = list(session.scalars(select(ApiKey)))
    assert [(k.id, k.revoked_at) for k in keys] == [(owned.key.id, None)]
    assert trail(database) == before


def test_no_admin_yet_means_no_default_owner(database: Database) -> None:
    with pytest.raises(NotFound, match="admin user"):
        accounts.create_key(database, audit.CLI, None, "ci", frozenset({Scope.READ}))
    assert trail(database) == []


def test_sign_in_and_out_are_audited(database: Database) -> None:
    user = make_user(database, "ana@example.com")
    wrong = accounts.sign_in(
        database, "ana@example.com", "wrong password!", ip="192.0.2.7", lifetime=timedelta(hours=1)
    )
    accounts.record_throttled_sign_in(database, "ana@example.com", "192.0.2.8")
    signed = accounts.sign_in(
        database,
        "ana@example.com",
        PASSWORD,
        ip="192.0.2.9",
        lifetime=timedelta(hours=1),
        past_account_throttle=True,
    )
    assert wrong is None
    assert signed is not None
    assert signed.user.id == user.id
    with database.read() as session:
        stored = session.scalars(select(UserSession)).one()
        assert stored.expires_at == signed.opened.expires_at
        digest = stored.digest
    accounts.sign_out(database, Actor(user.email, user.id, "192.0.2.9"), digest)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == 0
        ips = [e.ip for e in reversed(audit.entries(session))]
    assert trail(database) == [
        ("ana@example.com", "login.failure", None, {"reason": "credentials"}),
        ("ana@example.com", "login.failure", None, {"reason": "throttled"}),
        ("ana@example.com", "login.success", None, {"past_account_throttle": True}),
        ("ana@example.com", "logout", None, {}),
    ]
    assert ips == ["192.0.2.7", "192.0.2.8", "192.0.2.9", "192.0.2.9"]


def _open(database: Database, email: str) -> str:
    """A new session of this user: its digest, as the table keeps it."""
    signed = accounts.sign_in(database, email, PASSWORD, ip=None, lifetime=timedelta(hours=1))
    assert signed is not None
    return hashlib.sha256(signed.opened.token.encode()).hexdigest()


def test_an_own_password_change_commits_ends_the_other_sessions_and_is_audited(
    database: Database,
) -> None:
    ana = make_user(database, "ana@example.com", Role.VIEWER)
    here = _open(database, ana.email)
    _open(database, ana.email)
    actor = Actor(ana.email, ana.id)
    ended = accounts.change_own_password(
        database, actor, ana.id, PASSWORD, "a brand new passphrase", keep_session=here
    )
    assert ended == 1
    with database.read() as session:
        assert session.scalars(select(UserSession.digest)).all() == [here]
        changed = session.get(User, ana.id)
        assert changed is not None
        assert passwords.verify_password(changed.password_hash, "a brand new passphrase")
    assert trail(database)[-1] == (
        "ana@example.com",
        "user.password_change",
        f"user:{ana.id}",
        {"sessions_ended": 1},
    )


def test_a_refused_own_password_change_writes_only_its_failed_sign_in(
    database: Database,
) -> None:
    ana = make_user(database, "ana@example.com", Role.VIEWER)
    _open(database, ana.email)
    before = trail(database)
    with pytest.raises(InvalidInput) as wrong:
        accounts.change_own_password(
            database, Actor(ana.email, ana.id), ana.id, "a wrong one", "short", keep_session=None
        )
    assert [p.field for p in wrong.value.problems] == ["current_password", "new_password"]
    with pytest.raises(InvalidInput):
        accounts.change_own_password(
            database, Actor(ana.email, ana.id), ana.id, PASSWORD, "short", keep_session=None
        )
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == 1
        kept = session.get(User, ana.id)
        assert kept is not None and passwords.verify_password(kept.password_hash, PASSWORD)
    assert trail(database)[len(before) :] == [
        ("ana@example.com", "login.failure", f"user:{ana.id}", {"reason": "current_password"})
    ]


def test_sessions_end_one_by_its_public_id_or_all_but_one(database: Database) -> None:
    ana = make_user(database, "ana@example.com", Role.VIEWER)
    bob = make_user(database, "bob@example.com", Role.VIEWER)
    here = _open(database, ana.email)
    there = _open(database, ana.email)
    bobs = _open(database, bob.email)
    actor = Actor(ana.email, ana.id)
    with pytest.raises(NotFound):
        accounts.end_session(database, actor, ana.id, sessions.public_id(bobs))
    accounts.end_session(database, actor, ana.id, sessions.public_id(there))
    _open(database, ana.email)
    assert accounts.end_other_sessions(database, actor, ana.id, here) == 1
    with database.read() as session:
        assert sorted(session.scalars(select(UserSession.digest)).all()) == sorted([here, bobs])
    ended = [(a, t) for _, a, t, _ in trail(database) if a.startswith("session.")]
    assert ended == [
        ("session.end", f"session:{sessions.public_id(there)}"),
        ("session.end_others", f"user:{ana.id}"),
    ]


def test_a_display_time_zone_is_kept_with_its_entry_and_a_wrong_name_writes_nothing(
    database: Database,
) -> None:
    user = make_user(database, "zoe@example.com", Role.VIEWER)
    me = Actor(user.email, user.id)
    with pytest.raises(InvalidInput) as refused:
        accounts.set_display_time_zone(database, me, user.id, "Paris")
    assert refused.value.problems[0].field == "display_time_zone"
    assert "'Paris' is not a time zone name" in refused.value.problems[0].message
    assert trail(database) == []

    chosen = accounts.set_display_time_zone(database, me, user.id, " Europe/Paris ")
    assert chosen.display_time_zone == "Europe/Paris"
    with database.write() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        token = sessions.open_session(session, stored, timedelta(hours=1))
    with database.read() as session:
        signed_in = sessions.principal_for_session(session, token.token)
    assert signed_in is not None and signed_in.display_time_zone == "Europe/Paris"
    assert trail(database) == [
        (user.email, "user.display_time_zone", f"user:{user.id}", {"zone": "Europe/Paris"})
    ]
