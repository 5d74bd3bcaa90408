"""Engine and sessions for SQLite (WAL, embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import TableValuedAlias

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a group commit on the event loop waits for a busy SQLite write lock before it queues
# for it in a thread, and how often it looks meanwhile. Another worker's group commit takes a
# few ms.
LOCK_POLL_SECONDS = 0.025
LOCK_POLL_INTERVAL = 0.0005
T = TypeVar("T")


class WriteLockBusy(Exception):
    """Another SQLite writer holds the write lock (asked not to wait)."""


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
                # Error messages and logs never carry a statement's values (numbers, bodies).
                hide_parameters=True,
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

    def connect_for_writes(self) -> Connection:
        """A connection for `write_transaction`, kept open by its caller between transactions."""
        return self._write_engine.connect()

    @contextmanager
    def write_transaction(self, connection: Connection, *, wait: bool = True) -> Iterator[None]:
        """A write transaction on a connection from `connect_for_writes`.

        For a writer running hundreds of small transactions a second (the webhooks' group
        commit), where the pool's checkout and checkin of a connection each time show.
        `wait=False`: raise `WriteLockBusy` rather than wait for another SQLite writer.
        """
        with self._writing(wait), connection.begin():
            yield

    def _writing(self, wait: bool = True) -> AbstractContextManager[None]:
        return nullcontext() if self._write_lock is None else self._write_lock.held(wait)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()


class GroupWriter:
    """Where a group commit (the webhooks', the sign-ups') writes each of its groups.

    On SQLite the transaction runs on the event loop, on one connection kept between groups.
    A writer thread would give up the GIL at every sqlite3 call and wait for the busy loop to
    hand it back, holding the write lock all the while; on the loop nothing waits but the
    commit's fsync, and requests keep arriving in the socket buffers meanwhile (with several
    `serve` workers, the others use the CPU). Should another writer hold the lock, the caller
    may grow its group (`while_waiting`) for a few milliseconds (another worker's group
    commit); past that (the dispatcher claiming a batch) it queues for the lock in a thread
    like any other writer. Polling on would lose the lock, again and again, to writers already
    queued for it. On PostgreSQL every group is written in a thread, on a pooled connection.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Connection | None = None

    async def write(
        self,
        work: Callable[[Connection], T],
        *,
        while_waiting: Callable[[], object] = lambda: None,
        timeout: float | None = None,
    ) -> T:
        """`work` run in a write transaction, committed; `timeout` bounds a write in a thread
        (TimeoutError)."""
        if self.database.is_sqlite:
            loop = asyncio.get_running_loop()
            polling_until = loop.time() + LOCK_POLL_SECONDS
            while True:
                try:
                    return self._on_loop(work)
                except WriteLockBusy:
                    if loop.time() > polling_until:
                        break
                    await asyncio.sleep(LOCK_POLL_INTERVAL)
                    while_waiting()
        return await asyncio.wait_for(asyncio.to_thread(self._pooled, work), timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _on_loop(self, work: Callable[[Connection], T]) -> T:
        connection = self._connection or self.database.connect_for_writes()
        self._connection = None
        try:
            with self.database.write_transaction(connection, wait=False):
                result = work(connection)
        except WriteLockBusy:
            self._connection = connection  # untouched
            raise
        except BaseException:
            connection.close()  # whatever state a failure left it in, start afresh
            raise
        self._connection = connection
        return result

    def _pooled(self, work: Callable[[Connection], T]) -> T:
        with self.database.write_connection() as connection:
            return work(connection)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
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
        # On the sqlite3 connection itself: a SQLAlchemy execution costs several times what
        # SQLite does here, and every write transaction (each webhook group too) begins here.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")

    return engine


def _lock_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_suffix(".write.lock")


class _SqliteWriteLock:
    """One SQLite writer at a time, across this process's threads and other processes.

    SQLite makes a second writer wait by sleeping and retrying (1, 2, 5, 10, ... ms); writers
    queued on this lock (a lock file beside the database) wake as soon as the previous one
    commits. It also tells a writer that must not wait (the webhooks' group commit, on the
    event loop) that the database is busy, before SQLite would make it wait.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._in_process = threading.Lock()
        self._file: IO[bytes] | None = None

    @contextmanager
    def held(self, wait: bool = True) -> Iterator[None]:
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000 if wait else -1
        if not self._in_process.acquire(wait, timeout):
            if wait:  # where SQLite itself would give up with "database is locked"
                raise TimeoutError(f"no SQLite write lock after {timeout:.0f} s")
            raise WriteLockBusy
        try:
            if self._path is None:
                yield
                return
            if self._file is None:
                self._file = open(self._path, "ab")  # noqa: SIM115 - kept open for the process
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WriteLockBusy from None
            try:
                yield
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._in_process.release()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# Prebuilt statements on SQLite's own cursor, for hot paths (the webhooks' group commit).
# SQLAlchemy's work per execution and per bound value costs several times what SQLite does
# for a small statement, and an executemany (or a RETURNING) takes one sqlite3 step per row;
# a statement reading all its rows from one JSON array parameter takes one.

_SQLITE = sqlite.dialect()


def json_array(name: str) -> TableValuedAlias:
    """The elements of the JSON array bound to `name`, as a table (SQLite's json_each)."""
    return func.json_each(bindparam(name)).table_valued("value").alias(f"{name}_rows")


def json_item(rows: TableValuedAlias, index: int) -> ColumnElement[Any]:
    """Item `index` of each element of a `json_array` of arrays."""
    return func.json_extract(rows.c.value, literal_column(f"'$[{index}]'"))


def rows_as_json(table: Table, columns: tuple[str, ...], rows: Iterable[Any]) -> str:
    """Rows (dicts, or tuples in `columns` order) as a JSON array of arrays, each value as
    SQLAlchemy would bind it to its column of `table` on SQLite."""
    converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (i, convert, {})
        for i, name in enumerate(columns)
        if (convert := _bind_processor(table, name))
    ]
    arrays = []
    for row in rows:
        values = list(row.values() if isinstance(row, dict) else row)
        for i, convert, seen in converting:
            # Once per distinct value: the rows of a group share their timestamps.
            value = values[i]
            if value is not None:
                if (converted := seen.get(value)) is None:
                    converted = seen[value] = convert(value)
                values[i] = converted
        arrays.append(values)
    return json.dumps(arrays)


def execute_on_sqlite(connection: Connection, statement: ClauseElement, **params: Any) -> list[Any]:
    """Run `statement` (built once, and cached by the caller) on the sqlite3 cursor; its rows.

    Runs inside the connection's transaction, which must have begun: the statement is
    invisible to SQLAlchemy, which would not begin one for it.
    """
    if not connection.in_transaction():
        raise RuntimeError("execute_on_sqlite needs a transaction")
    compiled = _compiled_for_sqlite(statement)
    values = [
        value if convert is None else convert(value)
        for convert, value in zip(
            compiled.converters, (params[name] for name in compiled.names), strict=True
        )
    ]
    cursor = connection.connection.cursor()
    try:
        rows: list[Any] = cursor.execute(compiled.sql, values).fetchall()
        return rows
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class _CompiledForSqlite:
    sql: str
    names: tuple[str, ...]
    """The parameters, in positional order."""
    converters: tuple[Callable[[Any], Any] | None, ...]


@functools.cache
def _compiled_for_sqlite(statement: ClauseElement) -> _CompiledForSqlite:
    compiled = cast(SQLCompiler, statement.compile(dialect=_SQLITE))
    names = tuple(compiled.positiontup or ())
    converters = tuple(
        compiled.binds[name].type.dialect_impl(_SQLITE).bind_processor(_SQLITE) for name in names
    )
    return _CompiledForSqlite(compiled.string, names, converters)


@functools.cache
def _bind_processor(table: Table, name: str) -> Callable[[Any], Any] | None:
    return table.c[name].type.dialect_impl(_SQLITE).bind_processor(_SQLITE)


LIST_SEPARATOR = ","


def is_among(
    column: QueryableAttribute[str], values: list[str], name: str, dialect: str
) -> ColumnElement[bool]:
    """`column IN values`, for a thousand values at a time (a claimed batch's numbers).

    PostgreSQL gets them as one string it splits itself: cheaper to send than an array
    parameter, which psycopg dumps element by element. The values (E.164 numbers, hex
    digests) never hold the separator.
    """
    if dialect != "postgresql":
        return column.in_(values)
    joined = LIST_SEPARATOR.join(values)
    if joined.count(LIST_SEPARATOR) != max(len(values) - 1, 0):
        raise ValueError(f"a value of {name} holds {LIST_SEPARATOR!r}")
    return column == func.any(
        func.string_to_array(bindparam(name, joined, type_=String), LIST_SEPARATOR)
    )


def upserting_insert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of `model` that can say ON CONFLICT (both engines speak it, each in its own
    dialect)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def commit_without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL).

    Only for a transaction whose loss in a crash loses nothing acted upon: the WAL is
    flushed in order, so any later commit that waits for the disk (the one before a POST
    to Sinch) makes this one durable first. SQLite in WAL mode never waits at commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


class number_in_text(FunctionElement[float]):
    """The number a text holds (`"42"`, `" -3.5"`), or NULL for any other text.

    Attributes are compared with numbers through it: a plain CAST would fail on PostgreSQL for
    `"gold"`, and SQLite reads `"12 apples"` as 12.
    """

    name = "number_in_text"
    inherit_cache = True


_NUMBER_PATTERN = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$"


@compiles(number_in_text, "postgresql")
def _number_in_text_postgresql(element: number_in_text, compiler: SQLCompiler, **kw: Any) -> str:
    text_sql = compiler.process(next(iter(element.clauses)), **kw)
    return f"CASE WHEN {text_sql} ~ '{_NUMBER_PATTERN}' THEN CAST({text_sql} AS NUMERIC) END"


@compiles(number_in_text, "sqlite")
def _number_in_text_sqlite(element: number_in_text, compiler: SQLCompiler, **kw: Any) -> str:
    # No regular expressions in SQLite: one sign at most, then only digits and one dot, and
    # at least one digit.
    trimmed = f"trim({compiler.process(next(iter(element.clauses)), **kw)})"
    unsigned = f"ltrim({trimmed}, '+-')"
    return (
        f"CASE WHEN length({trimmed}) - length({unsigned}) <= 1"
        f" AND {unsigned} NOT GLOB '*[^0-9.]*' AND {unsigned} GLOB '*[0-9]*'"
        f" AND length({unsigned}) - length(replace({unsigned}, '.', '')) <= 1"
        f" THEN CAST({trimmed} AS REAL) END"
    )
