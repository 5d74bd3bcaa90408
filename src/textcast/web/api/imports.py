"""`/api/v1/imports`: upload a CSV file of contacts, follow the import, download its rejections."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from textcast.config import instance_secret
from textcast.db import Database
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.imports import jobs as imports
from textcast.models import ImportJob
from textcast.services import imports as importing
from textcast.web.api.ids import Id
from textcast.web.api.inputs import NUL, NoNul
from textcast.web.auth import Writer, guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep

router = APIRouter(
    prefix="/api/v1/imports", tags=["imports"], dependencies=[guard(Permission.READ)]
)

_COPY_BUFFER = 1024 * 1024


class ImportOut(BaseModel):
    id: int
    filename: str
    status: str = Field(description="pending, running, completed or failed.")
    error: str | None = Field(description="Why a failed import stopped.")
    list_id: int | None
    default_region: str
    bytes_total: int
    bytes_read: int
    progress: float = Field(description="Share of the file read, 0 to 1.")
    rows: int = Field(description="Data rows read so far (blank lines and the header excluded).")
    created: int
    updated: int
    duplicates: int = Field(description="Rows repeating a number seen earlier in the file.")
    rejected: int
    kept_opted_out: int = Field(
        description="Opted-out or suppressed numbers: updated or created, never re-subscribed."
    )
    created_at: datetime
    finished_at: datetime | None
    rejections_url: str

    @classmethod
    def of(cls, job: ImportJob) -> ImportOut:
        return cls(
            id=job.id,
            filename=job.filename,
            status=job.status,
            error=job.error,
            list_id=job.list_id,
            default_region=job.default_region,
            bytes_total=job.bytes_total,
            bytes_read=job.bytes_read,
            progress=round(job.bytes_read / job.bytes_total, 4) if job.bytes_total else 1.0,
            rows=job.rows,
            created=job.created,
            updated=job.updated,
            duplicates=job.duplicates,
            rejected=job.rejected,
            kept_opted_out=job.kept_opted_out,
            created_at=job.created_at,
            finished_at=job.finished_at,
            rejections_url=f"{router.prefix}/{job.id}/rejections.csv",
        )


class ImportPage(BaseModel):
    items: list[ImportOut]


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_import(
    runtime: RuntimeDep,
    principal: Writer,
    file: Annotated[UploadFile, File(description="CSV file with a phone column.")],
    list_name: Annotated[
        str | None,
        Form(alias="list", description="Add the contacts to this list (made if new)."),
        NoNul,
    ] = None,
    default_region: Annotated[
        str | None,
        Form(description="Country of national numbers like 0612345678; DEFAULT_REGION if unset."),
        NoNul,
    ] = None,
    consent_confirmed: Annotated[
        bool | None,
        Form(
            description="Required, `true`: you confirm these contacts agreed to receive "
            "marketing texts from you. Each imported contact's consent event names who "
            "confirmed it and when."
        ),
    ] = None,
) -> ImportOut:
    """202 with the job; the import runs in the background (poll `GET /api/v1/imports/{id}`).
    Without `consent_confirmed=true`, a 400 naming it, and nothing is imported."""
    settings = runtime.settings
    actor = Actor.of(principal)
    path = _spool(file)
    try:
        secret = instance_secret(settings)
        job = importing.start_import(
            runtime.database,
            actor,
            path=path,
            # Shown, never typed: its NUL characters (which PostgreSQL cannot store) go.
            filename=(file.filename or "").replace(NUL, "") or "upload.csv",
            default_region=default_region or settings.default_region,
            consent_confirmed=consent_confirmed is True,
            list_name=list_name,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    # A daemon thread: stopping the server abandons the chunk in flight (rolled back) rather than
    # waiting for the rest of the file.
    threading.Thread(
        target=_run,
        args=(runtime.database, job.id, path, secret, actor),
        name=f"import-{job.id}",
        daemon=True,
    ).start()
    return ImportOut.of(job)


@router.get("")
def list_imports(
    session: ReadSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ImportPage:
    """Recent imports, newest first."""
    return ImportPage(items=[ImportOut.of(j) for j in imports.recent_imports(session, limit=limit)])


@router.get("/{import_id}")
def get_import(import_id: Id, session: ReadSession) -> ImportOut:
    return ImportOut.of(imports.get_import(session, import_id))


@router.get(
    "/{import_id}/rejections.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "`line,reason,value` rows."}},
)
def download_rejections(
    import_id: Id, session: ReadSession, database: DatabaseDep
) -> StreamingResponse:
    """Every rejected row: its line in the file (the header is line 1), why, and the value."""
    imports.get_import(session, import_id)

    def rows() -> Iterator[str]:
        with database.read() as reading:
            yield from imports.rejections_csv(reading, import_id)

    disposition = f'attachment; filename="import-{import_id}-rejections.csv"'
    return StreamingResponse(
        rows(), media_type="text/csv", headers={"content-disposition": disposition}
    )


def _spool(upload: UploadFile) -> Path:
    """The upload, copied to a file of its own a megabyte at a time."""
    with tempfile.NamedTemporaryFile(prefix="textcast-import-", suffix=".csv", delete=False) as out:
        shutil.copyfileobj(upload.file, out, _COPY_BUFFER)
    return Path(out.name)


def _run(database: Database, import_id: int, path: Path, secret: bytes, actor: Actor) -> None:
    try:
        importing.run_import(database, import_id, path, secret, confirmed_by=actor)
    finally:
        path.unlink(missing_ok=True)
