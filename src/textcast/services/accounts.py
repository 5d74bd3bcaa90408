"""Accounts' use cases: create and change users, the first admin, create and revoke API keys,
sign in to and out of the dashboard, and what every user does to their own account (a new
password, ending their other sessions). Each runs in one transaction with its audit entry.

Who may do it (the route's guard, a signed-in session) and how often (sign-in rate limits)
stay with the caller; the rules about whose keys a caller manages are here, given the caller's
`Principal` (None: the command line, which acts with the database's own authority).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain.accounts import api_keys, audit, sessions, users
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal, Scope
from textcast.domain.errors import Forbidden, InvalidInput, NotFound
from textcast.models import ApiKey, Role, User, UserSession

UserRef = int | str
"""A user by id, or by sign-in email (as the command line names them)."""


@dataclass(frozen=True, slots=True)
class NewUser:
    user: User
    password: str | None
    """The generated password, to show once; None when the caller chose one."""


def create_user(
    database: Database, actor: Actor, email: str, password: str | None, role: Role
) -> NewUser:
    """A user with this password, or a generated one when None."""
    generated = users.generate_password() if password is None else None
    with database.write() as session:
        user = users.create_user(session, email, password or generated or "", role)
        audit.record(session, actor, "user.create", f"user:{user.id}", role=user.role.value)
    return NewUser(user, generated)


def create_first_admin(database: Database, actor: Actor, email: str) -> str | None:
    """On an empty database, an admin with a generated password (returned, to show once);
    None when there are users already."""
    with database.write() as session:
        password = users.create_first_admin(session, email)
        if password is not None:
            audit.record(session, actor, "user.create", email, role="admin")
    return password


def change_user(
    database: Database,
    actor: Actor,
    user: UserRef,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    revoke_api_keys: bool = False,
) -> users.AccountChange:
    """A new role, disabled or enabled, a new password, the keys revoked: any of these (see
    `users.change_user` for what each ends)."""
    with database.write() as session:
        user_id = _user(session, user).id
        change = users.change_user(
            session,
            user_id,
            role=role,
            disabled=disabled,
            password=password,
            revoke_api_keys=revoke_api_keys,
        )
        detail: dict[str, object] = {}
        if role is not None:
            detail["role"] = role.value
        if disabled is not None:
            detail["disabled"] = disabled
        if password is not None:
            detail["password_changed"] = True
        if revoke_api_keys:
            detail["api_keys_revoked"] = change.api_keys_revoked
        audit.record(session, actor, "user.update", f"user:{user_id}", **detail)
    return change


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str
    """The whole key, to show once; it is not stored."""
    owner: User


def create_key(
    database: Database,
    actor: Actor,
    owner: UserRef | None,
    name: str,
    scopes: frozenset[Scope],
    *,
    caller: Principal | None = None,
) -> CreatedKey:
    """A key for `owner` (None: the first active admin). With a `caller`, only an admin names
    somebody else (a caller who is not names themselves, by id), and the key grants no more
    than the caller has."""
    if caller is not None and owner != caller.user_id and not caller.can(Permission.ADMIN):
        raise Forbidden("only an admin creates keys for somebody else")
    with database.write() as session:
        found = _key_owner(session, owner)
        created = api_keys.create_key(session, found, name, scopes, granted_by=caller)
        audit.record(
            session,
            actor,
            "apikey.create",
            f"apikey:{created.key.id}",
            prefix=created.key.prefix,
            owner=found.email,
            scopes=created.key.scopes,
        )
    return CreatedKey(created.key, created.secret, found)


def revoke_key(
    database: Database, actor: Actor, key_id: int, *, caller: Principal | None = None
) -> ApiKey:
    """The key stops working at once. With a `caller`, only an admin revokes somebody else's."""
    with database.write() as session:
        key = api_keys.get_key(session, key_id)
        if caller is not None and not _own_or_admin(caller, key):
            raise Forbidden("only an admin manages somebody else's keys")
        api_keys.revoke_key(session, key_id)
        audit.record(session, actor, "apikey.revoke", f"apikey:{key_id}", prefix=key.prefix)
    return key


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    opened: sessions.Opened


def sign_in(
    database: Database,
    email: str,
    password: str,
    *,
    ip: str | None,
    lifetime: timedelta,
    past_account_throttle: bool = False,
) -> SignedIn | None:
    """A new dashboard session for these credentials, or None (the failure is audited).
    `past_account_throttle`: the account's failed sign-ins throttle other addresses, and this
    one was let through as new to it; the success says so."""
    with database.write() as session:
        user = users.authenticate(session, email, password)
        if user is None:
            audit.record(session, Actor(email, ip=ip), "login.failure", reason="credentials")
            return None
        opened = sessions.open_session(session, user, lifetime)
        throttled: dict[str, object] = (
            {"past_account_throttle": True} if past_account_throttle else {}
        )
        audit.record(session, Actor(user.email, user.id, ip), "login.success", None, **throttled)
    return SignedIn(user, opened)


def record_throttled_sign_in(database: Database, email: str, ip: str | None) -> None:
    """A sign-in refused by the rate limits before its password was looked at."""
    with database.write() as session:
        audit.record(session, Actor(email, ip=ip), "login.failure", reason="throttled")


def sign_out(database: Database, actor: Actor, session_digest: str) -> None:
    with database.write() as session:
        sessions.close_session(session, session_digest)
        audit.record(session, actor, "logout")


def change_own_password(
    database: Database,
    actor: Actor,
    user_id: int,
    current_password: str,
    new_password: str,
    *,
    keep_session: str | None,
) -> int:
    """The user's new password, given their current one; every other session of theirs ends
    (`keep_session`: the digest of the one they asked from, None for an API key). How many
    sessions ended. A wrong current password changes nothing and is audited as a failed
    sign-in."""
    try:
        with database.write() as session:
            users.change_own_password(session, user_id, current_password, new_password)
            ended = sessions.close_other_sessions(session, user_id, keep_session)
            audit.record(
                session, actor, "user.password_change", f"user:{user_id}", sessions_ended=ended
            )
    except InvalidInput as exc:
        if any(p.field == users.CURRENT_PASSWORD for p in exc.problems):
            with database.write() as session:
                audit.record(
                    session, actor, "login.failure", f"user:{user_id}", reason="current_password"
                )
        raise
    return ended


def set_display_time_zone(database: Database, actor: Actor, user_id: int, zone: str | None) -> User:
    """The zone the dashboard shows the user's times in (None: their browser's own)."""
    with database.write() as session:
        user = users.set_display_time_zone(session, user_id, zone)
        audit.record(
            session,
            actor,
            "user.display_time_zone",
            f"user:{user_id}",
            zone=user.display_time_zone or "browser",
        )
    return user


def end_session(database: Database, actor: Actor, user_id: int, session_id: str) -> UserSession:
    """Sign the user out of one of their sessions, named by its public id."""
    with database.write() as session:
        ended = sessions.close_session_of(session, user_id, session_id)
        audit.record(session, actor, "session.end", f"session:{session_id}")
    return ended


def end_other_sessions(
    database: Database, actor: Actor, user_id: int, keep_session: str | None
) -> int:
    """Sign the user out everywhere but `keep_session` (a digest; None: everywhere)."""
    with database.write() as session:
        ended = sessions.close_other_sessions(session, user_id, keep_session)
        audit.record(session, actor, "session.end_others", f"user:{user_id}", sessions_ended=ended)
    return ended


def _own_or_admin(caller: Principal, key: ApiKey) -> bool:
    return key.user_id == caller.user_id or caller.can(Permission.ADMIN)


def _user(session: Session, user: UserRef) -> User:
    if isinstance(user, int):
        return users.get_user(session, user)
    return users.get_user_by_email(session, user)


def _key_owner(session: Session, owner: UserRef | None) -> User:
    if owner is not None:
        return _user(session, owner)
    admin = users.first_admin(session)
    if admin is None:
        raise NotFound("admin user", "(none yet; create one: textcast users create --admin EMAIL)")
    return admin
