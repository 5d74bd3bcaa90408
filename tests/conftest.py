"""What the tests need: a migrated database on each engine, settings, servers on real ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from textcast.db import Database
from textcast.migrate import upgrade
from textcast.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "TEXTCAST_TEST_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres"
)
POSTGRES_TEST_DB = os.environ.get("TEXTCAST_TEST_PG_DB", "textcast_test")


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
    """Create the test database once; fail loudly in CI, skip elsewhere, if PostgreSQL is down."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_TEST_DB,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{POSTGRES_TEST_DB}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable ({exc}); run with --db sqlite")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{POSTGRES_TEST_DB}"


@pytest.fixture(scope="session")
def migrated_template(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once per session: a SQLite file to copy, or the PostgreSQL URL."""
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        database.dispose()
        return str(path)
    url = _postgres_url()
    database = Database(url)
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    database.dispose()
    return url


@pytest.fixture
def database_url(engine_name: str, migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty, migrated database for one test."""
    if engine_name == "sqlite":
        path = tmp_path / "textcast.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    database = Database(migrated_template)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    yield migrated_template


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()
