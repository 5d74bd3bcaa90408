"""Delivery reports: which batch each report is about, and moving its message's status forward.

Status precedence (a final status never regresses):

    queued < submitting < accepted < dispatched < any final status

A report only moves a message forward in that order. Sinch's `Queued` means "accepted", so
it never moves a message back; the first final status (delivered, failed, expired, rejected,
aborted, cancelled, deleted, unknown) wins and later reports for that message are kept in
the inbox but change nothing.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Update,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)

from textcast.db import execute_on_sqlite, json_array, json_item, rows_as_json
from textcast.domain import stream
from textcast.domain.audience import hygiene
from textcast.domain.inbox.events import StatusReport
from textcast.models import Batch, Campaign, EventType, Message, MessageStatus, utcnow

RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SUBMITTING: 1,
    MessageStatus.ACCEPTED: 2,
    MessageStatus.DISPATCHED: 3,
}
FINAL_RANK = 4


def rank(status: MessageStatus) -> int:
    return RANK.get(status, FINAL_RANK)


class KnownBatches:
    """Batches already found, by our id and by the provider's: facts that never change.

    A batch's id and its provider id, once recorded, stay as they are, so remembering them
    spares each group commit a lookup. Only found batches are remembered: a report that
    outran its batch's 201 is looked up again the next time.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._campaigns: dict[str, int] = {}
        self._by_provider_id: dict[str, str] = {}
        self.kinds: dict[int, str] = {}
        """Each campaign's kind (what the event stream says of its messages): never changes."""

    def add(
        self, batch_id: str, campaign_id: int, provider_batch_id: str | None, kind: str | None
    ) -> None:
        if len(self._campaigns) >= self.capacity:
            # Campaigns are sent one after another: forgetting everything is as good as LRU.
            self._campaigns.clear()
            self._by_provider_id.clear()
            self.kinds.clear()
        self._campaigns[batch_id] = campaign_id
        if provider_batch_id:
            self._by_provider_id[provider_batch_id] = batch_id
        if kind is not None:
            self.kinds[campaign_id] = kind

    def campaign_of(self, batch_id: str) -> int | None:
        return self._campaigns.get(batch_id)

    def by_provider_id(self, provider_batch_id: str) -> str | None:
        return self._by_provider_id.get(provider_batch_id)


@dataclass
class Resolution:
    """The batches a group's reports name, as found (`resolve_batches`)."""

    campaigns: dict[str, int] = field(default_factory=dict)
    """Each found batch's campaign: messages are found by (campaign_id, phone)."""
    by_provider_id: dict[str, str] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    """The found batches' campaigns' kinds."""

    def add(
        self, batch_id: str, campaign_id: int, provider_batch_id: str | None, kind: str | None
    ) -> None:
        self.campaigns[batch_id] = campaign_id
        if provider_batch_id:
            self.by_provider_id[provider_batch_id] = batch_id
        if kind is not None:
            self.kinds[campaign_id] = kind

    def batch_for(self, report: StatusReport) -> str | None:
        if report.batch_ref in self.campaigns:
            return report.batch_ref
        if report.provider_batch_id:
            return self.by_provider_id.get(report.provider_batch_id)
        return None


def resolve_batches(
    connection: Connection, reports: Iterable[StatusReport], known: KnownBatches | None = None
) -> Resolution:
    """The batches `reports` name, by our id or the provider's: from `known`, else one lookup."""
    resolution = Resolution()
    refs: set[str] = set()
    provider_ids: set[str] = set()
    for report in reports:
        if report.batch_ref:
            campaign_id = known.campaign_of(report.batch_ref) if known else None
            if known is not None and campaign_id is not None:
                resolution.add(report.batch_ref, campaign_id, None, known.kinds.get(campaign_id))
            else:
                refs.add(report.batch_ref)
        if report.provider_batch_id:
            found = known.by_provider_id(report.provider_batch_id) if known else None
            campaign_id = known.campaign_of(found) if known and found else None
            if known is not None and found is not None and campaign_id is not None:
                kind = known.kinds.get(campaign_id)
                resolution.add(found, campaign_id, report.provider_batch_id, kind)
            else:
                provider_ids.add(report.provider_batch_id)
    if not refs and not provider_ids:
        return resolution
    rows = connection.execute(
        select(Batch.id, Batch.campaign_id, Batch.provider_batch_id, Campaign.kind)
        .outerjoin(Campaign, Campaign.id == Batch.campaign_id)
        .where(or_(Batch.id.in_(refs), Batch.provider_batch_id.in_(provider_ids)))
    ).all()
    for batch_id, campaign_id, provider_id, kind in rows:
        resolution.add(batch_id, campaign_id, provider_id, kind)
        if known is not None:
            known.add(batch_id, campaign_id, provider_id, kind)
    return resolution


def apply_reports(
    connection: Connection,
    reports: Sequence[StatusReport],
    resolution: Resolution | None = None,
    invalid_after: int = 0,
) -> int:
    """Move messages forward by the precedence above; returns how many reports matched a batch.

    With `invalid_after` (INVALID_AFTER_FAILURES; 0: no list hygiene), deliveries clear their
    numbers' failure streaks and permanent failures extend them (`audience.hygiene`).
    """
    resolution = resolution or resolve_batches(connection, reports)
    # Per status, in order of first appearance, the first report for each message; every
    # later one finds the message no longer earlier than its status and changes nothing.
    by_status: dict[MessageStatus, dict[tuple[str, str], StatusReport]] = defaultdict(dict)
    matched = 0
    for report in reports:
        batch_id = resolution.batch_for(report)
        if batch_id is None:
            continue
        matched += 1
        if report.status is not None:
            by_status[report.status].setdefault((batch_id, report.phone), report)
    now = utcnow()
    failures: list[hygiene.Failure] = []
    announced = _Announced(connection, by_status, resolution)
    for status, firsts in by_status.items():
        if invalid_after and hygiene.could_be_permanent(status):
            failures += _permanent_failures(connection, status, firsts, resolution)
        rows = [
            (resolution.campaigns[batch], batch, phone, r.code, r.operator_status_at)
            for (batch, phone), r in firsts.items()
        ]
        announcing = announced.wants(status)
        if connection.dialect.name == "sqlite":
            columns = ("campaign_id", "batch_id", "phone", "status_code", "operator_status_at")
            reports_json = rows_as_json(_table(Message), columns, rows)
            moved = execute_on_sqlite(
                connection,
                _advance_from_json_statement(status, announcing),
                now=now,
                reports=reports_json,
            )
        else:
            # executemany returns no rows: the messages about to move are read (and locked)
            # first, which is exactly those the UPDATE then moves.
            moved = list(_about_to_move(connection, status, rows)) if announcing else []
            params = [
                {
                    "b_campaign": campaign,
                    "b_batch": b,
                    "b_phone": p,
                    "b_code": c,
                    "b_at": at,
                    "b_now": now,
                }
                for campaign, b, p, c, at in rows
            ]
            connection.execute(_advance_statement(status), params)
        if announcing:
            announced.add(status, firsts, moved, now)
        if invalid_after and status is MessageStatus.DELIVERED:
            hygiene.clear_streaks(connection, (phone for _, phone in firsts))
    hygiene.record_failures(connection, failures, invalid_after)
    announced.record()
    return matched


class _Announced:
    """The messages a group's reports moved to a final status, as `message.delivered` and
    `message.failed` events: only those that really moved (not a repeat, nor a report behind
    the message's status), one `record_many` per type and group."""

    def __init__(
        self,
        connection: Connection,
        by_status: dict[MessageStatus, dict[tuple[str, str], StatusReport]],
        resolution: Resolution,
    ) -> None:
        self.connection = connection
        self.kinds = resolution.kinds
        finals = [status for status in by_status if rank(status) == FINAL_RANK]
        self.types = {
            _event_type(status)
            for status in finals
            if stream.wanted(connection, _event_type(status))
        }
        self.moved: list[tuple[int, int, str, MessageStatus, StatusReport, datetime]] = []

    def wants(self, status: MessageStatus) -> bool:
        return rank(status) == FINAL_RANK and _event_type(status) in self.types

    def add(
        self,
        status: MessageStatus,
        firsts: dict[tuple[str, str], StatusReport],
        moved: Sequence[Any],
        now: datetime,
    ) -> None:
        for message_id, campaign_id, phone, batch_id in moved:
            self.moved.append(
                (message_id, campaign_id, phone, status, firsts[(batch_id, phone)], now)
            )

    def record(self) -> None:
        if not self.moved:
            return
        kinds = self.kinds
        delivered: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for message_id, campaign_id, phone, status, report, now in self.moved:
            data: dict[str, Any] = {
                "message_id": message_id,
                "campaign_id": campaign_id,
                "campaign_kind": kinds.get(campaign_id),
                "phone": phone,
            }
            at = stream.timestamp(report.operator_status_at or now)
            if status is MessageStatus.DELIVERED:
                delivered.append({**data, "code": report.code, "delivered_at": at})
            else:
                failed.append(
                    {
                        **data,
                        "status": status.value,
                        "code": report.code,
                        "meaning": report.meaning,
                        "failed_at": at,
                    }
                )
        if delivered:
            stream.record_many(self.connection, EventType.MESSAGE_DELIVERED, delivered)
        if failed:
            stream.record_many(self.connection, EventType.MESSAGE_FAILED, failed)


def _event_type(final: MessageStatus) -> EventType:
    return (
        EventType.MESSAGE_DELIVERED
        if final is MessageStatus.DELIVERED
        else EventType.MESSAGE_FAILED
    )


def _about_to_move(
    connection: Connection, status: MessageStatus, rows: list[tuple[Any, ...]]
) -> Sequence[Any]:
    """(id, campaign_id, phone, batch_id) of the messages these reports are about to move to
    `status`, locked until the transaction ends."""
    table = _table(Message)
    keys = list({(campaign, phone, batch) for campaign, batch, phone, _, _ in rows})
    return connection.execute(
        select(table.c.id, table.c.campaign_id, table.c.phone, table.c.batch_id)
        .where(
            tuple_(table.c.campaign_id, table.c.phone, table.c.batch_id).in_(keys),
            table.c.status.in_(_earlier_than(status)),
        )
        .with_for_update()
    ).all()


def _permanent_failures(
    connection: Connection,
    status: MessageStatus,
    firsts: dict[tuple[str, str], StatusReport],
    resolution: Resolution,
) -> list[hygiene.Failure]:
    """The messages these reports are about to move to `status` with a permanent failure's
    code: read (and locked) just before they move, so that each counts once, whatever
    repeats of its report arrive later."""
    codes = {
        (resolution.campaigns[batch], phone, batch): report.code
        for (batch, phone), report in firsts.items()
        if hygiene.permanent_failure(status, report.code) is not None
    }
    if not codes:
        return []
    table = _table(Message)
    rows = connection.execute(
        select(table.c.id, table.c.campaign_id, table.c.phone, table.c.batch_id)
        .where(
            tuple_(table.c.campaign_id, table.c.phone, table.c.batch_id).in_(list(codes)),
            table.c.status.in_(_earlier_than(status)),
        )
        .with_for_update()
    ).all()
    return [
        hygiene.Failure(message_id, phone, campaign_id, status, codes[(campaign_id, phone, batch)])
        for message_id, campaign_id, phone, batch in rows
    ]


# Statements, built once. The Core tables, not the ORM entities: the ORM's bulk paths cost
# several times more on the webhook hot path.


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _earlier_than(status: MessageStatus) -> list[ColumnElement[str]]:
    # Inlined literals (our own enum values): executemany cannot expand an IN list.
    return [literal_column(f"'{s.value}'") for s in MessageStatus if rank(s) < rank(status)]


@functools.cache
def _advance_statement(status: MessageStatus) -> Update:
    """Move one message (by batch and phone) to `status` if it is earlier in the precedence.

    Found through (campaign_id, phone): no index reads `batch_id` (see `models.Message`).
    """
    table = _table(Message)
    return (
        update(table)
        .where(
            table.c.campaign_id == bindparam("b_campaign"),
            table.c.phone == bindparam("b_phone"),
            table.c.batch_id == bindparam("b_batch"),
            table.c.status.in_(_earlier_than(status)),
        )
        .values(
            status=status.value,
            status_code=bindparam("b_code"),
            operator_status_at=bindparam("b_at"),
            updated_at=bindparam("b_now"),
            # A report that overtook Sinch's 201 leaves the message past `submitting`, where
            # `record_accepted` no longer stamps it: a report proves it was handed over.
            sent_at=func.coalesce(table.c.sent_at, bindparam("b_now")),
        )
    )


# SQLite's statement reads its rows from one JSON array parameter (see `db.json_array`)
# and runs on the sqlite3 cursor itself (`db.execute_on_sqlite`): one statement and one step
# per status and group, rather than a step and SQLAlchemy's processing per row.


@functools.cache
def _advance_from_json_statement(status: MessageStatus, returning: bool = False) -> Update:
    """`_advance_statement` for many messages, from `[campaign, batch, phone, code, at]` rows;
    `returning`: with (id, campaign_id, phone, batch_id) of each message it moved."""
    table = _table(Message)
    reports = json_array("reports")
    statement = (
        update(table)
        .where(
            table.c.campaign_id == json_item(reports, 0),
            table.c.phone == json_item(reports, 2),
            table.c.batch_id == json_item(reports, 1),
            table.c.status.in_(_earlier_than(status)),
        )
        .values(
            status=literal_column(f"'{status.value}'"),
            status_code=json_item(reports, 3),
            operator_status_at=json_item(reports, 4),
            updated_at=bindparam("now", type_=table.c.updated_at.type),
            sent_at=func.coalesce(table.c.sent_at, bindparam("now", type_=table.c.updated_at.type)),
        )
    )
    if returning:
        statement = statement.returning(
            table.c.id, table.c.campaign_id, table.c.phone, table.c.batch_id
        )
    return statement
