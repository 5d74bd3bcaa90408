"""Empty, migrated databases made from the session's template (see `conftest.py`).

Both engines run with the durability a power cut needs turned off, since no test cuts power:
SQLite copies live on a memory file system when there is one (an fsync there costs nothing,
on disk it cost ~4 ms a commit, and the app commits with `synchronous=FULL`), and the
PostgreSQL database commits without waiting for its WAL flush (`synchronous_commit=off`). A
killed process, a dropped connection or a stopped app still loses nothing committed, which is
all the crash and outage tests take away.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from textcast.models import Base

MEMORY_FILE_SYSTEM = Path("/dev/shm")


def memory_directory(fallback: Path) -> Path:
    """Where SQLite test databases go: a memory file system if this machine has one."""
    if MEMORY_FILE_SYSTEM.is_dir() and _writable(MEMORY_FILE_SYSTEM):
        return MEMORY_FILE_SYSTEM
    return fallback


def _writable(directory: Path) -> bool:
    try:
        probe = directory / f".textcast-tests-probe-{id(directory)}"
        probe.touch()
        probe.unlink()
    except OSError:
        return False
    return True


def empty_database(engine_name: str, migrated_template: str, directory: Path) -> str:
    """A SQLite copy of the template in `directory`, or the PostgreSQL template emptied."""
    if engine_name == "sqlite":
        path = directory / "textcast.db"
        shutil.copyfile(migrated_template, path)
        return f"sqlite:///{path}"
    empty_postgres(migrated_template)
    return migrated_template


def psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def empty_postgres(url: str) -> None:
    """Every table emptied and every sequence restarted, as `TRUNCATE ... RESTART IDENTITY`
    would, but in milliseconds: TRUNCATE gives each of the ~40 tables and their indexes new
    files, about a second a test, while a test leaves a few rows in a few tables. DELETE,
    children first, costs what the rows do."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    deletes = "; ".join(f'DELETE FROM "{t}"' for t in tables)
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute(f"BEGIN; {deletes}; COMMIT")  # one round trip
        used = conn.execute(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
            " WHERE last_value IS NOT NULL"
        ).fetchall()
        for (sequence,) in used:
            conn.execute(f"ALTER SEQUENCE {sequence} RESTART")
