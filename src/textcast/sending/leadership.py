"""One dispatcher at a time per database: the others wait as standbys (docs/sending-protocol.md,
"Dispatcher leadership").

Startup reconciliation treats every `submitting` batch as orphaned, which is only true when no
other dispatcher is alive; a second one running at the same time could resend a batch whose
POST is still in flight. PostgreSQL holds the lock as a session advisory lock on a dedicated
connection (released by the server when the process dies); SQLite, single-node by design,
uses an exclusive lock on a file next to the database.

The advisory lock lives only as long as its connection: when the database restarts or the
connection is cut, it is gone, and a standby may take it. The leader therefore asks
`still_held` before it touches batches, and steps down when the answer is no.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from textcast.db import Database

# Any constant works; this one spells "textcast" in ASCII.
ADVISORY_LOCK_KEY = 0x7465787463617374
FLOW_ENGINE_LOCK_KEY = ADVISORY_LOCK_KEY + 1
"""The flow engine's leader holds its own lock: it may lead on another worker than the
dispatcher's."""


class DispatcherLock:
    def __init__(
        self, database: Database, key: int = ADVISORY_LOCK_KEY, name: str = "dispatcher"
    ) -> None:
        """`key`: the advisory lock (PostgreSQL); `name`: the lock file's (SQLite)."""
        self.database = database
        self.key = key
        self.name = name
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self._sqlite_held = False

    def try_acquire(self) -> bool:
        if self.database.is_sqlite:
            self._sqlite_held = self._lock_file()
            return self._sqlite_held
        connection = self.database.engine.connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        """Whether the lock is still ours; False once its connection is gone (the server
        released the lock with it). The file lock of SQLite lasts as long as the process."""
        if self.database.is_sqlite:
            return self._sqlite_held
        if self._connection is None:
            return False
        try:
            # A session lock is released only by its session's end: a live session holds it.
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            self._forget_connection()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.commit()
            self._forget_connection()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._sqlite_held = False

    def _forget_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _lock_file(self) -> bool:
        database = make_url(self.database.url).database
        if not database or database == ":memory:":
            return True
        handle = open(Path(database).with_suffix(f".{self.name}.lock"), "ab")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return True
