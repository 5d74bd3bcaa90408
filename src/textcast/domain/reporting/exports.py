"""A campaign's messages as CSV, paged by id in a fresh read session per page, so a long
download holds no snapshot open. An A/B test's campaign exports its family, each message
marked with its part (`variants.variant_labels`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain.campaigns.queries import family_ids
from textcast.domain.reporting.analytics import DescribeCode, code_meaning
from textcast.domain.reporting.figures import UNDELIVERED
from textcast.domain.reporting.variants import variant_labels
from textcast.domain.spreadsheets import SpreadsheetWriter
from textcast.models import Message

EXPORT_PAGE = 5_000
EXPORT_COLUMNS = (
    "id",
    "phone",
    "status",
    "status_code",
    "code_meaning",
    "reason",
    "parts",
    "batch_id",
    "sent_at",
    "updated_at",
    "variant",
)
"""`variant`, last so that readers of the older columns read them where they were: the A/B
test variant the message is part of (`A`..`E`, `rest` for the rest of the audience), empty for
an ordinary campaign's."""


def messages_csv(
    database: Database, campaign_id: int, describe_code: DescribeCode, *, page: int = EXPORT_PAGE
) -> Iterator[str]:
    """Every message of the campaign (of its family, for an A/B test's) as CSV
    (`EXPORT_COLUMNS`), one piece of text per page."""
    buffer = io.StringIO()
    out = SpreadsheetWriter(buffer, lineterminator="\n")
    out.writerow(EXPORT_COLUMNS)
    with database.read() as session:
        family = family_ids(session, campaign_id)
        labels = variant_labels(session, campaign_id, family)
    # Campaign by campaign, in the order they were made: the variants' messages were written
    # at the launch, the rest's at the decision, so the ids still rise through the file.
    for member in family:
        with database.read() as session:
            first, last = session.execute(
                select(func.min(Message.id), func.max(Message.id)).where(
                    Message.campaign_id == member
                )
            ).one()
        after = (first or 1) - 1
        label = labels.get(member, "")
        while last is not None and after < last:
            with database.read() as session:
                rows = _export_page(session, member, after, last, page)
            out.writerows(_export_row(describe_code, label, *row) for row in rows)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            after = rows[-1][0] if len(rows) == page else last
    if buffer.tell():
        yield buffer.getvalue()


def _export_page(session: Session, campaign_id: int, after: int, last: int, page: int) -> list[Any]:
    # Walked along the primary key between the campaign's first and last ids: the
    # (campaign_id, status, id) index would need all of the campaign's rows sorted per page.
    query = (
        select(
            Message.id,
            Message.phone,
            Message.status,
            Message.status_code,
            Message.error,
            Message.parts,
            Message.batch_id,
            Message.sent_at,
            Message.updated_at,
        )
        .with_hint(Message, "NOT INDEXED", "sqlite")  # the rowid is still used
        .where(Message.campaign_id == campaign_id, Message.id > after, Message.id <= last)
        .order_by(Message.id)
        .limit(page)
    )
    return list(session.execute(query))


def _export_row(
    describe_code: DescribeCode,
    variant: str,
    id_: int,
    phone: str,
    status: str,
    code: int | None,
    error: str | None,
    parts: int,
    batch_id: str | None,
    sent_at: datetime | None,
    updated_at: datetime,
) -> tuple[object, ...]:
    meaning = ""
    if code is not None or (status in UNDELIVERED):
        meaning = code_meaning(code, describe_code)[0]
    return (
        id_,
        phone,
        status,
        "" if code is None else code,
        meaning,
        error or "",
        parts,
        batch_id or "",
        sent_at.isoformat() if sent_at else "",
        updated_at.isoformat(),
        variant,
    )
