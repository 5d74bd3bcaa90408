"""The audit log: who did what, when. Append-only; written in the transaction of the act."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.accounts.permissions import Principal
from textcast.models import AuditEntry

CLI_ACTOR = "cli"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user or key, the command line, or an unknown party (a login)."""

    label: str
    user_id: int | None = None
    ip: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.actor, principal.user_id, principal.ip)


CLI = Actor(CLI_ACTOR)


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            user_id=actor.user_id,
            actor=actor.label[:300],
            action=action,
            target=target,
            detail=detail,
            ip=actor.ip,
        )
    )


def entries(
    session: Session,
    *,
    action: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; `before_id` pages backwards."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))


def entries_about(session: Session, target: str, actions: Sequence[str]) -> list[AuditEntry]:
    """The entries of these actions on one target (`contact:12`), oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target == target, AuditEntry.action.in_(actions))
            .order_by(AuditEntry.id)
        )
    )
