"""Database outages for tests, without touching the shared server: a TCP proxy in front of
PostgreSQL that can cut every connection and refuse new ones for a while, and a SQLite
writer that holds the database's write lock for longer than the busy timeout."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from textcast.db import SQLITE_BUSY_TIMEOUT_MS


class PostgresProxy:
    """Forwards 127.0.0.1:`port` to the server of `database_url`, until `cut`."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._target = (url.host or "127.0.0.1", url.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._refusing = threading.Event()
        self._open: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @contextlib.contextmanager
    def outage(self, seconds: float) -> Iterator[None]:
        """Every connection dropped at once, new ones refused for `seconds` (however long the
        body takes, at least until it ends), then let through."""
        began = time.monotonic()
        self._refusing.set()
        with self._guard:
            dropped, self._open = self._open, set()
        for sock in dropped:
            _drop(sock)
        try:
            yield
            time.sleep(max(0.0, began + seconds - time.monotonic()))
        finally:
            self._refusing.clear()

    def close(self) -> None:
        self._closed = True
        self._refusing.set()
        _drop(self._listener)
        with self._guard:
            for sock in self._open:
                _drop(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing.is_set():
                _drop(client)  # the client sees the server close the connection at once
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                _drop(client)
                continue
            server.settimeout(None)
            with self._guard:
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _drop(source)
        _drop(sink)


def _drop(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def sqlite_write_outage(database_url: str, seconds: float) -> Iterator[None]:
    """Another connection holds SQLite's write lock (BEGIN EXCLUSIVE) for `seconds`: every
    writer of the app waits its busy timeout and fails, as with an unwritable file (running
    as root, file permissions would not stop the writes). Readers go on, as SQLite's WAL lets
    them. The outage lasts `seconds` from the moment the lock is held, or until the body ends."""
    if seconds * 1000 <= SQLITE_BUSY_TIMEOUT_MS:
        raise ValueError("an outage shorter than the busy timeout would only slow writers down")
    path = make_url(database_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        began = time.monotonic()
        try:
            yield
            time.sleep(max(0.0, began + seconds - time.monotonic()))
        finally:
            holder.execute("ROLLBACK")
    finally:
        holder.close()
