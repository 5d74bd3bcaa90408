"""CSV contact imports: jobs that stream a file into contacts, consent events and a list.

`start_import` checks what can be checked cheaply (region, empty file, no phone column) and
records a pending job. `run_import` runs it: csv_reading finds the file's layout and streams its
rows; import_workers turns chunks of rows into contacts' values (numbers above all: the CPU-heavy
part, in worker processes for large files); import_writing writes each chunk while the workers
read the next. Writes are committed every CHUNKS_PER_COMMIT chunks together with the job's
counters, so a reader sees progress and a crash loses the uncommitted rows whole, never part of
a row's writes. The flows a subscription starts are entered in the same transactions: new
subscribed contacts start them, and those put on the import's list start that list's.

Each E.164 number is one contact. A number already in the database is updated (names kept unless
the file has them, attributes merged, country and time zone only filled in) and never
re-subscribed: an unsubscribed contact or a suppressed number stays or becomes unsubscribed and
counts as `kept_opted_out`. Created and updated contacts get an `opt_in` consent event citing the
file and line, and who confirmed, when starting the import, that these contacts agreed to receive
marketing texts (an import without that confirmation is refused). A number seen again later in
the file counts as a duplicate; its row is ignored.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import flows, stream
from textcast.domain.audience import lists
from textcast.domain.errors import FieldProblem, InvalidInput, NotFound
from textcast.domain.imports.csv_reading import Columns, CsvProblem, Row, detect_layout, read_rows
from textcast.domain.imports.workers import RowReaders, RowResult, WorkerStopped, read_contacts
from textcast.domain.imports.writing import ChunkWriter
from textcast.domain.imports.writing import Progress as Progress
from textcast.domain.spreadsheets import SpreadsheetWriter
from textcast.models import EventType, ImportJob, ImportRejection, ImportStatus, utcnow

log = logging.getLogger("textcast.imports")

CHUNK_ROWS = 5_000
CHUNKS_PER_COMMIT = 4
"""20,000 rows per transaction: each commit writes out every page of the phone index that its
(random) numbers touched, so larger commits write far less (measured on SQLite at 1,000,000 rows:
24 s of database work instead of 38 s with a commit per 5,000), while other writers still get
their turn within about a second."""
PARALLEL_FROM_BYTES = 2 * 2**20
"""Smaller files are read in this process: starting a worker costs more than it saves."""
READ_AHEAD = 2
"""Chunks being read by workers while this process writes one."""


ProgressCallback = Callable[[Progress], None]


# -- jobs ---------------------------------------------------------------------------------------


def start_import(
    session: Session,
    *,
    path: Path,
    filename: str,
    default_region: str,
    consent_confirmed: bool,
    list_name: str | None = None,
) -> ImportJob:
    """A pending job for the file at `path`; InvalidInput when it cannot work, or when nobody
    confirmed that these contacts agreed to receive marketing texts."""
    region = default_region.strip().upper()
    problems: list[FieldProblem] = []
    if region not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(
            FieldProblem("default_region", "not a country code such as FR or US", region[:8])
        )
    if list_name is not None and not 0 < len(list_name.strip()) <= lists.MAX_NAME:
        problems.append(FieldProblem("list", f"must be 1 to {lists.MAX_NAME} characters"))
    if not problems:
        try:
            detect_layout(path, region)
        except CsvProblem as exc:
            problems.append(FieldProblem("file", str(exc)))
    if not consent_confirmed:
        problems.append(
            FieldProblem(
                "consent_confirmed",
                "confirm that these contacts agreed to receive marketing texts from you",
            )
        )
    if problems:
        raise InvalidInput(problems)
    list_id = lists.get_or_create_list(session, list_name).id if list_name else None
    job = ImportJob(
        filename=filename[:255],
        status=ImportStatus.PENDING,
        list_id=list_id,
        default_region=region,
        bytes_total=path.stat().st_size,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def get_import(session: Session, import_id: int) -> ImportJob:
    job = session.get(ImportJob, import_id)
    if job is None:
        raise NotFound("import", import_id)
    return job


def recent_imports(session: Session, *, limit: int = 50) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def first_rejections(session: Session, import_id: int, *, limit: int = 20) -> list[ImportRejection]:
    """The first rejected rows, by line: a preview of `rejections_csv`."""
    return list(
        session.scalars(
            select(ImportRejection)
            .where(ImportRejection.import_id == import_id)
            .order_by(ImportRejection.line)
            .limit(limit)
        )
    )


def rejections_csv(session: Session, import_id: int, *, page: int = 5_000) -> Iterator[str]:
    """The rejected rows as CSV (`line,reason,value`), a page of rows per piece of text."""
    get_import(session, import_id)
    buffer = io.StringIO()
    out = SpreadsheetWriter(buffer, lineterminator="\n")
    out.writerow(["line", "reason", "value"])
    after = 0
    while True:
        rows = list(
            session.execute(
                select(ImportRejection.line, ImportRejection.reason, ImportRejection.value)
                .where(ImportRejection.import_id == import_id, ImportRejection.line > after)
                .order_by(ImportRejection.line)
                .limit(page)
            )
        )
        out.writerows((line, reason, value or "") for line, reason, value in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < page:
            return
        after = rows[-1].line


# -- running ------------------------------------------------------------------------------------


def run_import(
    database: Database,
    import_id: int,
    path: Path,
    secret: bytes,
    *,
    workers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: ProgressCallback | None = None,
    confirmed_by: str | None = None,
) -> ImportJob:
    """Run a pending job to its end. Failures are recorded on the job, not raised.

    `workers`: processes reading rows (None: two for large files, none for small ones).
    `confirmed_by`: who confirmed the contacts' consent when starting it, for the evidence."""
    with database.write() as session:
        job = get_import(session, import_id)
        job.status = ImportStatus.RUNNING
        bytes_total = job.bytes_total
    if workers is None:
        workers = _default_workers(bytes_total)
    try:
        with _rare_collections():
            _import(
                database, import_id, path, secret, workers, chunk_rows, on_progress, confirmed_by
            )
    except (CsvProblem, WorkerStopped) as exc:
        return _finish(database, import_id, ImportStatus.FAILED, str(exc))
    except Exception as exc:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        # The exception's text may quote a row (SQL parameters): only its type is logged.
        log.error("import %d failed: %s\n%s", import_id, type(exc).__name__, frames)
        reason = f"internal error ({type(exc).__name__}); the server log has details"
        return _finish(database, import_id, ImportStatus.FAILED, reason)
    return _finish(database, import_id, ImportStatus.COMPLETED, None)


def _import(
    database: Database,
    import_id: int,
    path: Path,
    secret: bytes,
    workers: int,
    chunk_rows: int,
    on_progress: ProgressCallback | None,
    confirmed_by: str | None,
) -> None:
    with database.read() as session:
        job = get_import(session, import_id)
        region = job.default_region
        evidence = f"CSV import {job.filename}, line "
        if confirmed_by is not None:
            evidence = (
                f"CSV import {job.filename}, consent confirmed by {confirmed_by} at import "
                f"{job.id} on {job.created_at:%Y-%m-%d %H:%M} UTC, line "
            )
        writer = ChunkWriter(import_id, job.list_id, f"import:{job.id}", evidence)
    layout = detect_layout(path, region)
    with path.open("rb") as file:
        chunks = _chunks(read_rows(file, layout), file, chunk_rows)
        read = _read_contacts(chunks, layout.columns, region, secret, workers)
        with contextlib.closing(read):
            while True:
                with database.write() as session:
                    written = 0
                    for lines, results, offset in islice(read, CHUNKS_PER_COMMIT):
                        writer.write(session.connection(), lines, results, offset)
                        written += 1
                    _start_flows(session, writer)
                if not written:
                    return
                if on_progress is not None:
                    on_progress(writer.progress)


def _start_flows(session: Session, writer: ChunkWriter) -> None:
    """The flows a subscription starts, for the contacts these chunks created subscribed (and
    those a list's subscription starts, for everyone they put on the list), in the chunks'
    transaction: their runs exist exactly when their rows do."""
    created, joined = writer.subscribed, writer.joined
    now = utcnow()
    if created:
        list_ids = [] if writer.list_id is None else [writer.list_id]
        flows.on_subscribed_many(session, created, list_ids, now)
    if joined and writer.list_id is not None:
        flows.on_list_joined(session, writer.list_id, joined, now)
    created.clear()
    joined.clear()


_collections_lock = threading.Lock()
_collections_held: list[tuple[int, int, int]] = []


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """An import allocates millions of short-lived, acyclic tuples; the cyclic garbage
    collector's default pace made it spend a fifth of the import's time walking the process's
    other objects (measured in the CLI). Its thresholds are the process's, so the first import
    to start raises them and the last to finish puts them back."""
    with _collections_lock:
        if not _collections_held:
            thresholds = gc.get_threshold()
            gc.set_threshold(max(thresholds[0], 50_000), thresholds[1], thresholds[2])
        else:
            thresholds = _collections_held[0]
        _collections_held.append(thresholds)
    try:
        yield
    finally:
        with _collections_lock:
            restored = _collections_held.pop()
            if not _collections_held:
                gc.set_threshold(*restored)


def _default_workers(bytes_total: int) -> int:
    if bytes_total < PARALLEL_FROM_BYTES:
        return 0
    return max(1, min(2, os.cpu_count() or 1))


def _finish(
    database: Database, import_id: int, status: ImportStatus, error: str | None
) -> ImportJob:
    with database.write() as session:
        job = get_import(session, import_id)
        job.status = status
        job.error = error
        job.finished_at = utcnow()
        if status == ImportStatus.COMPLETED:
            job.bytes_read = job.bytes_total
        data = {
            "import_id": job.id,
            "status": str(status),
            "list_id": job.list_id,
            "rows": job.rows,
            "imported": job.created + job.updated,
            "rejected": job.rejected,
            "completed_at": stream.timestamp(job.finished_at),
        }
        stream.record(session, EventType.IMPORT_COMPLETED, data, at=job.finished_at)
    return job


Chunk = tuple[list[int], list[list[str]], int]
"""Rows' lines, their fields, and how far into the file reading got."""


def _chunks(rows: Iterator[Row], file: BinaryIO, size: int) -> Iterator[Chunk]:
    while chunk := list(islice(rows, size)):
        yield [line for line, _ in chunk], [fields for _, fields in chunk], file.tell()


def _read_contacts(
    chunks: Iterator[Chunk], columns: Columns, region: str, secret: bytes, workers: int
) -> Generator[tuple[list[int], list[RowResult], int]]:
    if workers == 0:
        for lines, rows, offset in chunks:
            yield lines, read_contacts(rows, columns, region, secret), offset
        return
    with RowReaders(workers, columns, region, secret) as readers:
        pending: deque[tuple[list[int], int]] = deque()
        for lines, rows, offset in chunks:
            readers.submit(rows)
            pending.append((lines, offset))
            if len(pending) > READ_AHEAD:
                done, done_offset = pending.popleft()
                yield done, readers.next_result(), done_offset
        while pending:
            done, done_offset = pending.popleft()
            yield done, readers.next_result(), done_offset
