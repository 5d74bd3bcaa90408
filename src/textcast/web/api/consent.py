"""`/api/v1/consent`: everyone's consent ledger, exported for a carrier's audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import consent_exports
from textcast.web.api.inputs import IsoOnly
from textcast.web.auth import guard
from textcast.web.deps import DatabaseDep

router = APIRouter(
    prefix="/api/v1/consent", tags=["contacts"], dependencies=[guard(Permission.READ)]
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "CSV, one row per consent event: "
            + ",".join(consent_exports.CSV_COLUMNS)
            + "; or a JSON array of the events as `GET /api/v1/contacts/{id}/consent` "
            "shows them in its `ledger`.",
        }
    },
)
def export_consent(
    database: DatabaseDep,
    format: Literal["csv", "json"] = "csv",
    since: Annotated[
        datetime | None,
        IsoOnly,
        Query(
            description="Only the events from this moment on: ISO 8601, e.g. 2026-12-01T00:00:00Z."
        ),
    ] = None,
) -> StreamingResponse:
    """Every consent event of every contact, oldest first, with who made it and, for a sign-up,
    its evidence in full. Streamed page by page: fit for any size of audience."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    headers = {"content-disposition": f'attachment; filename="consent-ledger.{format}"'}
    if format == "json":
        return StreamingResponse(
            consent_exports.ledger_json(database, since),
            media_type="application/json",
            headers=headers,
        )
    return StreamingResponse(
        consent_exports.ledger_csv(database, since), media_type="text/csv", headers=headers
    )
