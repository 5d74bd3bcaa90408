"""API keys: `tc_{prefix}_{secret}`, shown once, kept as a SHA-256 digest.

A key is random (256 bits), so a fast digest is enough: nobody can guess it back from the
digest, and looking it up costs one index probe per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from textcast.domain.accounts.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Scope,
    scope_permissions,
)
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.models import ApiKey, Role, User, utcnow

KEY_PREFIX = "tc_"
MAX_NAME_CHARS = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, not on every request."""


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    secret: str
    """The whole key, to show once; it is not stored."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    user: User,
    name: str,
    scopes: frozenset[Scope],
    *,
    granted_by: Principal | None = None,
) -> NewKey:
    """A key for `user`; it may not grant more than the user's role (nor than `granted_by`)."""
    label = name.strip()
    if not label or len(label) > MAX_NAME_CHARS:
        raise InvalidInput([FieldProblem("name", f"must be 1 to {MAX_NAME_CHARS} characters")])
    wanted = scope_permissions(scopes)
    ceiling = ROLE_PERMISSIONS[user.role]
    if granted_by is not None:
        ceiling &= granted_by.permissions
    if not wanted <= ceiling:
        extra = ", ".join(sorted(p.value for p in wanted - ceiling))
        raise InvalidInput(
            [FieldProblem("scopes", f"would grant {extra}, more than the owner is allowed")]
        )
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        user_id=user.id,
        name=label,
        prefix=f"{KEY_PREFIX}{prefix}",
        digest=digest(secret),
        scopes=" ".join(sorted(scope.value for scope in scopes)),
    )
    session.add(key)
    session.flush()
    return NewKey(key, secret)


def keys_of(session: Session, user_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list(session.scalars(query))


def get_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key", key_id)
    return key


def revoke_key(session: Session, key_id: int) -> ApiKey:
    key = get_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def revoke_keys_of(session: Session, user_id: int) -> int:
    """Revoke every working key of a user; how many that was."""
    keys = session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for key in keys:
        key.revoked_at = now
    return len(keys)


def count_active_keys(session: Session, user_id: int) -> int:
    active = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    return active or 0


def principal_for_key(session: Session, secret: str) -> tuple[Principal, datetime | None] | None:
    """The caller a presented key stands for (and when it was last used), or None."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None
    row = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.digest == digest(secret))
    ).first()
    if row is None:
        return None
    key, user = row
    if key.revoked_at is not None or user.disabled_at is not None:
        return None
    scopes = frozenset(Scope(scope) for scope in key.scopes.split())
    permissions: frozenset[Permission] = ROLE_PERMISSIONS[user.role] & scope_permissions(scopes)
    principal = Principal(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        display_time_zone=user.display_time_zone,
        permissions=permissions,
        key_id=key.id,
        key_prefix=key.prefix,
    )
    return principal, key.last_used_at


def touch(session: Session, key_id: int, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
