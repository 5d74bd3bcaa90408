"""Dashboard sign-ins, kept server-side: the cookie holds a random token, the table its digest."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textcast.domain.accounts.permissions import ROLE_PERMISSIONS, Principal
from textcast.models import Role, User, UserSession, utcnow


@dataclass(frozen=True, slots=True)
class Opened:
    token: str
    """For the cookie; not stored."""
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User, lifetime: timedelta) -> Opened:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + lifetime
    session.add(
        UserSession(
            digest=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    # Expired sessions of anyone are swept on sign-in: the table stays small without a job.
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    return Opened(token, csrf, expires)


def principal_for_session(session: Session, token: str) -> Principal | None:
    if not token or len(token) > 100:
        return None
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.digest == _digest(token))
    ).first()
    if row is None:
        return None
    stored, user = row
    if stored.expires_at <= utcnow() or user.disabled_at is not None:
        return None
    return Principal(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        permissions=ROLE_PERMISSIONS[user.role],
        session_digest=stored.digest,
        csrf_token=stored.csrf_token,
    )


def close_session(session: Session, digest: str) -> None:
    session.execute(delete(UserSession).where(UserSession.digest == digest))


def close_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))
