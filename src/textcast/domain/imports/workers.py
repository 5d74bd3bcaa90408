"""Rows to contacts' values in worker processes: the CPU-heavy part of an import.

`read_contacts` turns a chunk of CSV rows into numbers (E.164, country, time zone), suppression
hashes, names and attributes as JSON, or the reason a row is refused. `RowReaders` runs it in
child processes (`python -m textcast.domain.imports.workers`) that exchange length-prefixed marshal
frames over pipes: unlike multiprocessing they never re-import the caller's __main__ (the CLI, the
server, a script), never fork a threaded server, and stay at ~20 MB each, because nothing here
imports SQLAlchemy or the models.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from json.encoder import encode_basestring_ascii as encode_string
from typing import IO, Any, cast

from textcast.domain.audience.attributes import MAX_VALUE_CHARS as MAX_ATTRIBUTE_CHARS
from textcast.domain.audience.attributes import value_too_long
from textcast.domain.audience.number_hashes import NumberHasher
from textcast.domain.imports.csv_reading import Columns
from textcast.domain.phones.numbers import InvalidPhone, read_phone
from textcast.domain.spreadsheets import original_cell

MAX_VALUE_CHARS = 100
"""Of a rejected row's value kept to show in the rejections."""
MAX_NAME_CHARS = 200

Accepted = tuple[str, str | None, str | None, str, str | None, str | None, str]
"""(E.164, country, time zone, suppression hash, first name, last name, attributes as JSON)."""
Rejected = tuple[str, str | None]
"""(why, the offending value)."""
RowResult = Accepted | Rejected


def read_contacts(
    rows: list[list[str]], columns: Columns, default_region: str, secret: bytes
) -> list[RowResult]:
    """The CPU-heavy part of an import (numbers above all): in worker processes for large
    files, inline for small ones."""
    phone, width, first, last = columns.phone, columns.width, columns.first_name, columns.last_name
    hash_of = NumberHasher(secret)
    # Attributes as JSON text, built from pre-encoded keys: what json.dumps would write, in a
    # fraction of its time (it is called a million times).
    keys = [(index, encode_string(key) + ": ") for index, key in columns.attributes]
    results: list[RowResult] = []
    append = results.append
    for fields in rows:
        size = len(fields)
        if size > width and any(fields[width:]):
            append((f"{size} fields where {width} were expected (a stray delimiter?)", None))
            continue
        raw = fields[phone] if phone < size else ""
        try:
            e164, country, zone = read_phone(raw, default_region)
        except InvalidPhone as exc:
            reason = "no phone number" if str(exc) == "empty" else str(exc)
            append((reason, raw.strip()[:MAX_VALUE_CHARS] or None))
            continue
        if max(map(len, fields)) > MAX_ATTRIBUTE_CHARS and (
            oversized := _oversized(fields, columns.attributes)
        ):
            append(oversized)
            continue
        digest = hash_of(e164)  # as domain.suppressions keeps opted-out numbers
        pairs = [
            key + encode_string(original_cell(value) if value[0] == "'" else value)
            for index, key in keys
            if index < size and (value := fields[index].strip())
        ]
        attributes = "{" + ", ".join(pairs) + "}"
        names = _name(fields, first, size), _name(fields, last, size)
        append((e164, country, zone, digest, *names, attributes))
    return results


def _oversized(fields: list[str], columns: tuple[tuple[int, str], ...]) -> Rejected | None:
    for index, key in columns:
        if index < len(fields) and len(value := fields[index].strip()) > MAX_ATTRIBUTE_CHARS:
            return f"{key}: {value_too_long(len(value))}", value[:MAX_VALUE_CHARS]
    return None


def _name(fields: list[str], index: int | None, size: int) -> str | None:
    if index is None or index >= size:
        return None
    return original_cell(fields[index].strip())[:MAX_NAME_CHARS] or None


class WorkerStopped(RuntimeError):
    pass


class RowReaders:
    """Worker processes running `read_contacts`; results come back in submission order."""

    def __init__(self, count: int, columns: Columns, default_region: str, secret: bytes) -> None:
        layout = (columns.phone, columns.first_name, columns.last_name, columns.attributes)
        setup = (*layout, columns.width, default_region, secret)
        self._workers: list[_Worker] = []
        self._order: deque[_Worker] = deque()
        try:
            for _ in range(count):
                self._workers.append(_Worker(setup))
        except BaseException:
            self.close()
            raise

    def submit(self, rows: list[list[str]]) -> None:
        worker = self._workers[len(self._order) % len(self._workers)]
        worker.requests.put(rows)
        self._order.append(worker)

    def next_result(self) -> list[RowResult]:
        answer = self._order.popleft().answers.get()
        if not isinstance(answer, list):
            raise WorkerStopped("an import worker process stopped")
        return answer

    def close(self) -> None:
        for worker in self._workers:
            worker.requests.put(None)
        for worker in self._workers:
            worker.stop()

    def __enter__(self) -> RowReaders:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Worker:
    """One child process, fed and drained by its own threads so that neither side ever
    blocks on a full pipe while the other waits for it."""

    def __init__(self, setup: tuple[Any, ...]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.requests: queue.Queue[list[list[str]] | None] = queue.Queue()
        self.answers: queue.Queue[object] = queue.Queue()
        # The secret travels over the pipe, never on the command line or in the environment.
        self.requests.put(cast(list[list[str]], setup))
        for target in (self._feed, self._drain):
            threading.Thread(target=target, daemon=True, name="import-worker").start()

    def _feed(self) -> None:
        stream = self.process.stdin
        assert stream is not None
        with contextlib.suppress(OSError):
            while (rows := self.requests.get()) is not None:
                _send(stream, rows)
            stream.close()

    def _drain(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while (answer := _receive(stream)) is not None:
            self.answers.put(answer)
        self.answers.put(None)

    def stop(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _send(stream: IO[bytes], value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> object | None:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(header)
    data = stream.read(size)
    # Frames only ever come from our own worker or parent process.
    return marshal.loads(data) if len(data) == size else None  # noqa: S302


_FRAME = struct.Struct("<I")


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    # A worker lives for one import and makes no cyclic garbage worth walking its modules for.
    gc.freeze()
    setup = _receive(requests)
    if setup is None:
        return
    phone, first, last, attributes, width, default_region, secret = cast(tuple[Any, ...], setup)
    columns = Columns(phone, first, last, attributes, width)
    while (rows := _receive(requests)) is not None:
        _send(answers, read_contacts(cast(list[list[str]], rows), columns, default_region, secret))


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
