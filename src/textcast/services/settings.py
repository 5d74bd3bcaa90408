"""Settings' use cases: change the settings an admin may change while textcast runs, or give
one back to the environment, in one transaction with its audit entry; and read them.

The environment gives each setting its initial value; the values stored here replace it on
every node (each process notices the revision move within seconds, see `runtime.py`). A change
of several settings is checked as a whole and stored whole, or refused whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from textcast import editable_settings
from textcast.config import Settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.settings import stored as stored_settings
from textcast.domain.settings.stored import StoredSetting
from textcast.models import utcnow

AUDIT_ACTION = "settings.update"
AUDIT_TARGET = "settings"


@dataclass(frozen=True, slots=True)
class CurrentSettings:
    settings: Settings
    """In effect: the environment's, with the stored values over them."""
    revision: int
    stored: Mapping[str, StoredSetting]


def current(database: Database, environment: Settings) -> CurrentSettings:
    with database.read() as session:
        return _current(session, environment)


def _current(session: Session, environment: Settings) -> CurrentSettings:
    revision = stored_settings.revision(session)
    stored = stored_settings.stored_settings(session)
    values = {name: setting.value for name, setting in stored.items()}
    return CurrentSettings(editable_settings.overlay(environment, values), revision, stored)


def change(
    database: Database, actor: Actor, environment: Settings, changes: Mapping[str, Any]
) -> CurrentSettings:
    """Set these settings (name to value; None gives one back to the environment), all of them
    or, when one is refused, none. Each one that changes is in the audit entry, old and new."""
    if not changes:
        raise InvalidInput([FieldProblem("body", "name at least one setting to change")])
    now = utcnow()
    try:
        with database.write() as session:
            # First: on PostgreSQL this holds the revision's row, so that two changes at once
            # take turns and each one's "old" values are what the other left.
            stored_settings.next_revision(session, now)
            before = _current(session, environment)
            stored = {name: setting.value for name, setting in before.stored.items()}
            checked = editable_settings.check_changes(environment, stored, changes)
            moved = {
                name: value
                for name, value in checked.items()
                if (name in stored if value is None else stored.get(name) != value)
            }
            if not moved:
                # `before` was read past the revision's move, which is rolled back.
                raise _Unchanged(dataclasses.replace(before, revision=before.revision - 1))
            stored_settings.store(
                session,
                {name: value for name, value in moved.items() if value is not None},
                frozenset(name for name, value in moved.items() if value is None),
                actor.label[:300],
                now,
            )
            after = _current(session, environment)
            audit.record(
                session,
                actor,
                AUDIT_ACTION,
                AUDIT_TARGET,
                changes={
                    name: {
                        "old": _value(before.settings, name),
                        "new": _value(after.settings, name),
                        "source": _source(environment, name) if value is None else "dashboard",
                    }
                    for name, value in sorted(moved.items())
                },
            )
    except _Unchanged as unchanged:
        # Nothing to store (a reset of a setting the environment already gives): the
        # revision's move is rolled back, and no process rebuilds anything.
        return unchanged.current
    return after


class _Unchanged(Exception):
    def __init__(self, current: CurrentSettings) -> None:
        super().__init__("unchanged")
        self.current = current


def reset(database: Database, actor: Actor, environment: Settings, name: str) -> CurrentSettings:
    """Give one setting back to the environment's value (or the default)."""
    item = editable_settings.editable(name)
    return change(database, actor, environment, {item.name: None})


def _value(settings: Settings, name: str) -> Any:
    return editable_settings.value_of(settings, editable_settings.BY_NAME[name])


def _source(environment: Settings, name: str) -> str:
    return editable_settings.environment_source(environment, editable_settings.BY_NAME[name])
