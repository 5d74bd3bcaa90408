"""Dashboard sign-ins, kept server-side: the cookie holds a random token, the table its digest.

A user sees their own sessions by a short public id (the start of the digest): enough to
tell them apart and to end one, and nothing that signs anybody in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textcast.domain.accounts.permissions import ROLE_PERMISSIONS, Principal
from textcast.domain.errors import NotFound
from textcast.models import Role, User, UserSession, utcnow


@dataclass(frozen=True, slots=True)
class Opened:
    token: str
    """For the cookie; not stored."""
    csrf_token: str
    expires_at: datetime


PUBLIC_ID_CHARS = 16


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
        display_time_zone=user.display_time_zone,
        permissions=ROLE_PERMISSIONS[user.role],
        session_digest=stored.digest,
        csrf_token=stored.csrf_token,
    )


def close_session(session: Session, digest: str) -> None:
    session.execute(delete(UserSession).where(UserSession.digest == digest))


def close_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def public_id(digest: str) -> str:
    """How a session is named to its user: the start of its digest."""
    return digest[:PUBLIC_ID_CHARS]


def sessions_of(session: Session, user_id: int) -> list[UserSession]:
    """The user's sessions that have not expired, newest first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.expires_at > utcnow())
            .order_by(UserSession.created_at.desc(), UserSession.digest)
        )
    )


def close_session_of(session: Session, user_id: int, session_id: str) -> UserSession:
    """End one of the user's sessions, named by its public id."""
    for stored in sessions_of(session, user_id):
        if public_id(stored.digest) == session_id:
            session.delete(stored)
            return stored
    raise NotFound("session", session_id)


def close_other_sessions(session: Session, user_id: int, keep_digest: str | None) -> int:
    """End every session of the user but `keep_digest` (None: all of them); how many of them
    had not expired."""
    ended = [s for s in sessions_of(session, user_id) if s.digest != keep_digest]
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_digest is not None:
        query = query.where(UserSession.digest != keep_digest)
    session.execute(query)
    return len(ended)
