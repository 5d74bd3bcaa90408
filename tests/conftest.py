"""What the tests need: a migrated database on each engine, settings, servers on real ports."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.databases import empty_database, memory_directory

from textcast.db import Database
from textcast.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TEXTCAST_TEST_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres"
)
# Sending tests must not depend on the hour they run at: the send window is always open
# unless a test sets its own (the quiet-hours tests do).
os.environ["QUIET_HOURS"] = "00:00-24:00"
os.environ["QUIET_HOURS_RULES"] = (
    '{"US": "00:00-24:00", "US-FL": "00:00-24:00", "US-OK": "00:00-24:00"}'
)
# One database per test session, so that concurrent runs never share (or drop) each other's.
POSTGRES_TEST_DB = f"textcast_test_{os.getpid()}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default="sqlite,postgresql",
        help="comma-separated engines to run database tests on (sqlite, postgresql)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_name" in metafunc.fixturenames:
        engines = [e.strip() for e in metafunc.config.getoption("--db").split(",") if e.strip()]
        metafunc.parametrize("engine_name", engines, scope="session")


def _postgres_url() -> str:
    """Create the session's database; fail loudly in CI, skip elsewhere, if PostgreSQL is down."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DB}"')
            conn.execute(f'CREATE DATABASE "{POSTGRES_TEST_DB}"')
            # No test crashes the server: a commit need not wait for its WAL to reach the disk.
            conn.execute(f'ALTER DATABASE "{POSTGRES_TEST_DB}" SET synchronous_commit = off')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable ({exc}); run with --db sqlite")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{POSTGRES_TEST_DB}"


class Templates:
    """Each engine's database, migrated once per session (per xdist worker) on first use and
    kept until the session ends: a SQLite file to copy, or the PostgreSQL URL.

    Not a session fixture parametrised by engine: pytest keeps one instance of those and sets
    it up again whenever the engine changes, and under `--dist worksteal` a worker may switch
    engines many times, each costing a migration."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.made: dict[str, str] = {}
        self.unreachable: str | None = None

    def get(self, engine_name: str) -> str:
        if engine_name not in self.made:
            self.made[engine_name] = self._make(engine_name)
        return self.made[engine_name]

    def _make(self, engine_name: str) -> str:
        if engine_name == "sqlite":
            path = self.directory / "template.db"
            database = Database(f"sqlite:///{path}")
            upgrade(database)
            database.dispose()
            return str(path)
        if self.unreachable is not None:
            pytest.skip(self.unreachable)
        try:
            url = _postgres_url()
        except pytest.skip.Exception as skipped:
            self.unreachable = str(skipped)
            raise
        database = Database(url)
        upgrade(database)
        database.dispose()
        return url

    def drop(self) -> None:
        if "postgresql" in self.made:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("template"))
    yield made
    made.drop()


@pytest.fixture(scope="module")
def migrated_template(engine_name: str, templates: Templates) -> str:
    """A database migrated once per session: a SQLite file to copy, or the PostgreSQL URL."""
    return templates.get(engine_name)


@pytest.fixture(scope="session")
def database_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's SQLite databases: in memory when the machine allows (`databases.py`)."""
    parent = memory_directory(tmp_path_factory.getbasetemp())
    directory = Path(tempfile.mkdtemp(prefix=f"textcast-tests-{os.getpid()}-", dir=parent))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database_url(
    engine_name: str, migrated_template: str, database_directory: Path
) -> Iterator[str]:
    """A fresh, empty, migrated database for one test."""
    directory = Path(tempfile.mkdtemp(dir=database_directory))
    yield empty_database(engine_name, migrated_template, directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()
