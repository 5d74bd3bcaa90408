"""The settings an admin stored over the environment's, and the revision that counts changes.

What a setting may hold, and how the stored values overlay the environment, is the caller's
business (`textcast.editable_settings`): here a value is JSON under an environment variable's
name. Every write moves the revision, which processes read every few seconds to notice it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from textcast.models import SettingOverride, SettingsRevision

REVISION_ROW = 1


@dataclass(frozen=True, slots=True)
class StoredSetting:
    name: str
    value: Any
    """JSON: a string, a number or an object."""
    changed_by: str
    changed_at: datetime


def revision(session: Session) -> int:
    """How many changes the stored settings have had (0: none, or no row yet)."""
    found = session.scalar(
        select(SettingsRevision.revision).where(SettingsRevision.id == REVISION_ROW)
    )
    return found or 0


def stored_settings(session: Session) -> dict[str, StoredSetting]:
    """Every stored setting, by name."""
    return {
        row.name: StoredSetting(row.name, row.value, row.changed_by, row.changed_at)
        for row in session.scalars(select(SettingOverride).order_by(SettingOverride.name))
    }


def next_revision(session: Session, now: datetime) -> int:
    """Move the revision on, first thing in a change: on PostgreSQL the row stays locked until
    the commit, so two changes at once take turns, each reading what the other wrote."""
    moved = session.execute(
        update(SettingsRevision)
        .where(SettingsRevision.id == REVISION_ROW)
        .values(revision=SettingsRevision.revision + 1, changed_at=now)
        .returning(SettingsRevision.revision)
    ).scalar()
    if moved is not None:
        return moved
    session.add(SettingsRevision(id=REVISION_ROW, revision=1, changed_at=now))
    session.flush()
    return 1


def store(
    session: Session,
    values: Mapping[str, Any],
    removed: frozenset[str],
    changed_by: str,
    now: datetime,
) -> None:
    """Store `values` (name to JSON) and forget the `removed` names, in the caller's
    transaction (which has called `next_revision`)."""
    if removed:
        session.execute(delete(SettingOverride).where(SettingOverride.name.in_(removed)))
    for name, value in values.items():
        row = session.get(SettingOverride, name)
        if row is None:
            session.add(
                SettingOverride(name=name, value=value, changed_by=changed_by, changed_at=now)
            )
        else:
            row.value = value
            row.changed_by = changed_by
            row.changed_at = now
    session.flush()
