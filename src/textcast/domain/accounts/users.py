"""People who sign in: email + password, one role each."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain.accounts import api_keys, passwords, sessions
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import Role, User, utcnow
from textcast.wording import time_zone_names

# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_CHARS = 254


def normalise_email(email: str) -> str:
    address = email.strip().lower()
    if len(address) > MAX_EMAIL_CHARS or not _EMAIL.match(address):
        raise InvalidInput([FieldProblem("email", "is not an email address", email[:100])])
    return address


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def create_user(session: Session, email: str, password: str, role: Role) -> User:
    address = normalise_email(email)
    if (problem := passwords.password_problem(password)) is not None:
        raise InvalidInput([FieldProblem("password", problem)])
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"a user with email {address} already exists")
    user = User(email=address, password_hash=passwords.hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def get_user_by_email(session: Session, email: str) -> User:
    """The user signing in with `email` (any case, spaces around it ignored)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound("user", email)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User)))


def first_admin(session: Session) -> User | None:
    return session.scalar(
        select(User)
        .where(User.role == Role.ADMIN, User.disabled_at.is_(None))
        .order_by(User.id)
        .limit(1)
    )


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None; costs the same either way."""
    address = email.strip().lower()
    user = session.scalar(select(User).where(User.email == address))
    stored = user.password_hash if user is not None else None
    if not passwords.verify_password(stored, password) or user is None:
        return None
    if user.disabled_at is not None:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> User:
    user = get_user(session, user_id)
    if role is not None and role != user.role:
        _keep_an_admin(session, user)
        user.role = role
    if disabled is not None and disabled != (user.disabled_at is not None):
        if disabled:
            _keep_an_admin(session, user)
        user.disabled_at = utcnow() if disabled else None
    if password is not None:
        if (problem := passwords.password_problem(password)) is not None:
            raise InvalidInput([FieldProblem("password", problem)])
        user.password_hash = passwords.hash_password(password)
    return user


@dataclass(frozen=True, slots=True)
class AccountChange:
    user: User
    api_keys_revoked: int
    api_keys_active: int
    """The user's keys not revoked: they work whenever the user is enabled."""


def change_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    revoke_api_keys: bool = False,
) -> AccountChange:
    """Change a user, with the rules around it: disabling or a new password ends the user's
    sessions; their API keys are revoked only when asked (a reset after a leak), since scripts
    may depend on them."""
    user = update_user(session, user_id, role=role, disabled=disabled, password=password)
    if disabled or password is not None:
        sessions.close_sessions_of(session, user_id)
    revoked = api_keys.revoke_keys_of(session, user_id) if revoke_api_keys else 0
    return AccountChange(user, revoked, api_keys.count_active_keys(session, user_id))


CURRENT_PASSWORD = "current_password"  # noqa: S105 (a field name, not a password)
"""The field a wrong current password is named by."""


def change_own_password(
    session: Session, user_id: int, current_password: str, new_password: str
) -> User:
    """A user's new password, given their current one. Every problem is named at once; a
    wrong current password is named `CURRENT_PASSWORD` (the caller counts it as a failed
    sign-in)."""
    user = get_user(session, user_id)
    problems: list[FieldProblem] = []
    too_long = len(current_password) > passwords.MAX_LENGTH  # not worth hashing
    if too_long or not passwords.verify_password(user.password_hash, current_password):
        problems.append(FieldProblem(CURRENT_PASSWORD, "is not your current password"))
    if (problem := passwords.password_problem(new_password)) is not None:
        problems.append(FieldProblem("new_password", problem))
    elif not problems and new_password == current_password:
        problems.append(FieldProblem("new_password", "must differ from your current password"))
    if problems:
        raise InvalidInput(problems)
    user.password_hash = passwords.hash_password(new_password)
    return user


DISPLAY_TIME_ZONE = "display_time_zone"
"""The field a display time zone is named by."""


def set_display_time_zone(session: Session, user_id: int, zone: str | None) -> User:
    """The IANA zone (`Europe/Paris`) the dashboard shows times in for this user; None: their
    browser's own."""
    user = get_user(session, user_id)
    if zone is not None:
        zone = zone.strip()
        if zone not in time_zone_names():
            shown = zone if len(zone) <= 64 else zone[:64] + "..."
            raise InvalidInput(
                [
                    FieldProblem(
                        DISPLAY_TIME_ZONE,
                        f"'{shown}' is not a time zone name: use one such as Europe/Paris, "
                        "America/New_York or UTC",
                    )
                ]
            )
    user.display_time_zone = zone
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to demote or disable the last active admin: nobody could manage users after."""
    if user.role != Role.ADMIN or user.disabled_at is not None:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.disabled_at.is_(None))
    )
    if (admins or 0) <= 1:
        raise Conflict(f"{user.email} is the last active admin; make another admin first")


def create_first_admin(session: Session, email: str) -> str | None:
    """On an empty database, an admin with a generated password (returned, to show once)."""
    if has_users(session):
        return None
    password = generate_password()
    create_user(session, email, password, Role.ADMIN)
    return password
