"""What the tests need: a migrated database on each engine, settings, servers on real ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.databases import empty_database

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
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable ({exc}); run with --db sqlite")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{POSTGRES_TEST_DB}"


@pytest.fixture(scope="session")
def migrated_template(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per session: a SQLite file to copy, or the PostgreSQL URL."""
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        database.dispose()
        yield str(path)
        return
    url = _postgres_url()
    database = Database(url)
    upgrade(database)
    database.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DB}" WITH (FORCE)')


@pytest.fixture
def database_url(engine_name: str, migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty, migrated database for one test."""
    yield empty_database(engine_name, migrated_template, tmp_path)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()
