"""Schema migrations (Alembic) run from code: `textcast db upgrade` and start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from textcast.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaOutdated(RuntimeError):
    pass


def ensure_schema(database: Database) -> None:
    """Migrate the embedded SQLite database; refuse to start on an outdated PostgreSQL one."""
    if database.is_sqlite:
        upgrade(database)
        return
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = current_revision(database)
    if current != head:
        raise SchemaOutdated(
            f"database schema is at {current or 'nothing'}, code expects {head}: "
            "run `textcast db upgrade`"
        )
