"""Empty, migrated databases made from the session's template (see `conftest.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from textcast.db import Database
from textcast.models import Base


def empty_database(engine_name: str, migrated_template: str, directory: Path) -> str:
    """A SQLite copy of the template in `directory`, or the PostgreSQL template emptied."""
    if engine_name == "sqlite":
        path = directory / "textcast.db"
        shutil.copyfile(migrated_template, path)
        return f"sqlite:///{path}"
    database = Database(migrated_template)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    return migrated_template
