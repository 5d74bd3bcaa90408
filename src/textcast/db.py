"""Engine and sessions for SQLite (WAL, embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """One engine plus two session factories: reads, and writes that lock up front on SQLite."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock: _SqliteWriteLock | None = None
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, echo=echo)
            self._write_lock = _SqliteWriteLock(_lock_file(url))
        else:
            self.engine = create_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 5},
            )
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success and rolled back on error."""
        with self._writing(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """`write()` as a Core connection, for hot paths that need no ORM session."""
        with self._writing(), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
        else:
            with self._write_lock.held():
                yield

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook own transactions, so writers can BEGIN IMMEDIATE and
        # never hit SQLITE_BUSY_SNAPSHOT on a read-to-write upgrade.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a 2xx to Sinch means the report survives power loss too; group commit pays for it.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _lock_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_suffix(".write.lock")


class _SqliteWriteLock:
    """One SQLite writer at a time, across this process's threads and other processes.

    SQLite makes a second writer wait by sleeping and retrying (1, 2, 5, 10, ... ms); writers
    queued on this lock instead wake as soon as the previous one commits. That keeps the
    webhooks' group commits back to back when several `serve` workers share the database,
    and keeps every other writer from being starved by them.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._in_process = threading.Lock()
        self._owner: int | None = None
        self._file: IO[bytes] | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._owner == threading.get_ident():
            raise RuntimeError("a SQLite write transaction inside another one would deadlock")
        with self._in_process:
            self._owner = threading.get_ident()
            try:
                if self._path is None:
                    yield
                    return
                if self._file is None:
                    self._file = open(self._path, "ab")  # noqa: SIM115 - open for the process
                fcntl.flock(self._file, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(self._file, fcntl.LOCK_UN)
            finally:
                self._owner = None
