"""Writing an import's rows: contacts created or updated, consent, list members, rejections.

`ChunkWriter.write` takes the worker results of a chunk of rows and writes them in the caller's
transaction. One contact per number: the first row with a number wins within a chunk; a number
the import already touched (a bitmap of contact ids, ~125 KB per million contacts) is a duplicate;
a number already in the database updates its contact. Opted-out numbers (an unsubscribed contact
or a suppression hash) are never re-subscribed and get no opt-in.

The statements run on the DBAPI cursor with one parameter array per chunk where the engine allows
it: SQLAlchemy's per-row parameter processing, or SQLite binding a million rows one at a time,
cost more than the engine's own work (measured).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Table, update

from textcast.domain.audience import consent
from textcast.domain.audience.attributes import MAX_ATTRIBUTES
from textcast.domain.imports.workers import Accepted, RowResult
from textcast.models import ConsentKind, Contact, ContactStatus, ImportJob, utcnow

_SUBSCRIBED = ContactStatus.SUBSCRIBED.value
_UNSUBSCRIBED = ContactStatus.UNSUBSCRIBED.value
_OPT_IN = ConsentKind.OPT_IN.value
_CONTACT_COLUMNS = "phone, first_name, last_name, attributes, country, time_zone, status"
_EXISTING = (
    "SELECT id, phone, status, first_name, last_name, attributes, country, time_zone"
    " FROM contacts WHERE phone {}"
)
_SUPPRESSED = "SELECT phone_hash FROM suppressions WHERE phone_hash {}"
_CONSENTS = "INSERT INTO consent_events (contact_id, kind, source, evidence, created_at)"
_MEMBERS = "INSERT INTO list_members (list_id, contact_id, added_at)"
_NOT_TWICE = "ON CONFLICT (list_id, contact_id) DO NOTHING"
_BITMAP_IDS = 2**28
"""Contact ids below this are remembered in a bitmap (at most 32 MiB), the rest in a set."""

NewContact = tuple[str, str | None, str | None, str, str | None, str | None, str]
"""phone, first_name, last_name, attributes (JSON), country, time_zone, status."""


@dataclass(slots=True)
class Progress:
    bytes_read: int = 0
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    kept_opted_out: int = 0


class _Statements:
    """What both engines share; the subclasses pass the chunk's values their best way."""

    mark = "?"

    def __init__(self, dialect: Dialect) -> None:
        # Timestamps and JSON as the models' column types hand them to the driver.
        contacts = cast(Table, Contact.__table__)
        time_type = contacts.c.created_at.type.dialect_impl(dialect)
        self.time: Callable[[Any], Any] = time_type.bind_processor(dialect) or (lambda v: v)
        json_type = contacts.c.attributes.type.dialect_impl(dialect)
        loads = json_type.result_processor(dialect, None)
        self.loads: Callable[[Any], Any] = loads or (lambda value: value)
        m = self.mark
        self.update_contact = (
            f"UPDATE contacts SET first_name = {m}, last_name = {m}, attributes = {m},"
            f" country = {m}, time_zone = {m}, status = {m}, updated_at = {m} WHERE id = {m}"
        )
        self.insert_rejection = (
            f"INSERT INTO import_rejections (import_id, line, reason, value)"
            f" VALUES ({m}, {m}, {m}, {m})"
        )

    def among(self, cursor: Any, query: str, values: list[str]) -> list[Any]:
        """Rows of `query`, whose `{}` is where `column IN values` goes."""
        raise NotImplementedError

    def insert_contacts(self, cursor: Any, rows: list[NewContact], stamp: Any) -> list[Any]:
        """Insert, and (id, phone) of each contact inserted."""
        raise NotImplementedError

    def insert_consents(
        self, cursor: Any, consenting: list[tuple[int, int]], source: str, evidence: str, stamp: Any
    ) -> None:
        """An opt-in per (contact id, line), its evidence citing the line."""
        raise NotImplementedError

    def insert_members(
        self, cursor: Any, list_id: int, members: list[int], stamp: Any
    ) -> list[int]:
        """Insert, and the ids of the contacts that were not members yet."""
        raise NotImplementedError

    def suppressed(self, cursor: Any, hashes: list[str]) -> set[str]:
        cursor.execute("SELECT 1 FROM suppressions LIMIT 1")
        if cursor.fetchone() is None:
            return set()
        return {row[0] for row in self.among(cursor, _SUPPRESSED, hashes)}


class _Sqlite(_Statements):
    def among(self, cursor: Any, query: str, values: list[str]) -> list[Any]:
        if not values:
            return []
        # One JSON parameter, not one per value: SQLite keeps every distinct statement it has
        # prepared, and an IN list of each chunk's length would pile up megabytes of them.
        cursor.execute(query.format("IN (SELECT value FROM json_each(?))"), (json.dumps(values),))
        return list(cursor.fetchall())

    def insert_contacts(self, cursor: Any, rows: list[NewContact], stamp: Any) -> list[Any]:
        # The transaction holds the write lock (BEGIN IMMEDIATE), so the rows above the previous
        # largest id are exactly this insert's, and when every row went in, each took the next
        # id in turn: no lookup per number is needed.
        cursor.execute("SELECT coalesce(max(id), 0) FROM contacts")
        (before,) = cursor.fetchone()
        cursor.executemany(
            f"INSERT INTO contacts ({_CONTACT_COLUMNS}, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?8, ?8) ON CONFLICT (phone) DO NOTHING",
            [(*row, stamp) for row in rows],
        )
        inserted = cursor.rowcount
        cursor.execute("SELECT max(id) FROM contacts")
        if inserted == len(rows) and cursor.fetchone()[0] == before + inserted:
            ids = range(before + 1, before + inserted + 1)
            return list(zip(ids, (row[0] for row in rows), strict=True))
        cursor.execute("SELECT id, phone FROM contacts WHERE id > ?", (before,))
        return list(cursor.fetchall())

    def insert_consents(
        self, cursor: Any, consenting: list[tuple[int, int]], source: str, evidence: str, stamp: Any
    ) -> None:
        cursor.execute(
            f"{_CONSENTS} SELECT json_extract(value, '$[0]'), '{_OPT_IN}', ?1,"
            " ?2 || json_extract(value, '$[1]'), ?3 FROM json_each(?4)",
            (source, evidence, stamp, json.dumps(consenting)),
        )

    def insert_members(
        self, cursor: Any, list_id: int, members: list[int], stamp: Any
    ) -> list[int]:
        cursor.execute(
            f"{_MEMBERS} SELECT ?1, value, ?2 FROM json_each(?3) WHERE true {_NOT_TWICE}"
            " RETURNING contact_id",
            (list_id, stamp, json.dumps(members)),
        )
        return [row[0] for row in cursor.fetchall()]


class _Postgresql(_Statements):
    """Arrays go in binary (`%b`): psycopg escapes every element of a text array otherwise."""

    mark = "%s"

    def among(self, cursor: Any, query: str, values: list[str]) -> list[Any]:
        if not values:
            return []
        cursor.execute(query.format("= ANY(%b)"), (values,))
        return list(cursor.fetchall())

    def insert_contacts(self, cursor: Any, rows: list[NewContact], stamp: Any) -> list[Any]:
        cursor.execute(
            f"INSERT INTO contacts ({_CONTACT_COLUMNS}, created_at, updated_at)"
            " SELECT phone, first_name, last_name, attributes::json, country, time_zone, status,"
            " %s, %s FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
            f" %b::text[], %b::text[]) AS t({_CONTACT_COLUMNS})"
            " ON CONFLICT (phone) DO NOTHING RETURNING id, phone",
            (stamp, stamp, *(list(column) for column in zip(*rows, strict=True))),
        )
        return list(cursor.fetchall())

    def insert_consents(
        self, cursor: Any, consenting: list[tuple[int, int]], source: str, evidence: str, stamp: Any
    ) -> None:
        ids, lines = (list(column) for column in zip(*consenting, strict=True))
        cursor.execute(
            f"{_CONSENTS} SELECT id, '{_OPT_IN}', %s, %s || line, %s"
            " FROM unnest(%b::bigint[], %b::int[]) AS t(id, line)",
            (source, evidence, stamp, ids, lines),
        )

    def insert_members(
        self, cursor: Any, list_id: int, members: list[int], stamp: Any
    ) -> list[int]:
        cursor.execute(
            f"{_MEMBERS} SELECT %s, id, %s FROM unnest(%b::bigint[]) AS t(id) {_NOT_TWICE}"
            " RETURNING contact_id",
            (list_id, stamp, members),
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass(slots=True)
class ChunkWriter:
    """Writes chunk after chunk of one import, remembering which contacts it has touched."""

    import_id: int
    list_id: int | None
    source: str
    evidence: str
    """The consent evidence, to which each row's line number is appended."""
    progress: Progress = field(default_factory=Progress)
    subscribed: list[int] = field(default_factory=list)
    """Contacts the chunks written so far created subscribed (the caller takes them for
    the flows a subscription starts, and empties the list)."""
    joined: list[int] = field(default_factory=list)
    """Contacts already there, subscribed, that the chunks put on the import's list."""
    _sql: _Statements | None = None
    _touched_bits: bytearray = field(default_factory=bytearray)
    _touched_set: set[int] = field(default_factory=set)

    def write(
        self, connection: Connection, lines: list[int], results: list[RowResult], offset: int
    ) -> None:
        if self._sql is None:
            postgresql = connection.dialect.name == "postgresql"
            self._sql = (_Postgresql if postgresql else _Sqlite)(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            consented = self._write(self._sql, cursor, lines, results)
        finally:
            cursor.close()
        consent.announce(connection, ConsentKind.OPT_IN, consented, self.source)
        self.progress.bytes_read = offset
        jobs = cast(Table, ImportJob.__table__)
        connection.execute(
            update(jobs)
            .where(jobs.c.id == self.import_id)
            .values(**{name: getattr(self.progress, name) for name in Progress.__slots__})
        )

    def _write(
        self, sql: _Statements, cursor: Any, lines: list[int], results: list[RowResult]
    ) -> list[tuple[int, str]]:
        """Writes the chunk; (contact id, phone) of each opt-in it recorded."""
        stamp = sql.time(utcnow())
        valid, rejections = self._sort(lines, results)
        suppressed = sql.suppressed(cursor, [result[3] for _, result in valid.values()])
        consenting: list[tuple[int, int]] = []  # (contact id, line)
        consented: list[tuple[int, str]] = []  # (contact id, phone), for the event stream
        members: list[int] = []
        progress = self.progress
        # Every number is first offered as a new contact (in number order, so that neighbours
        # share the pages of the phone index); the ones already there are looked up after.
        new = sorted(
            (
                e164,
                first,
                last,
                attributes,
                country,
                zone,
                _UNSUBSCRIBED if digest in suppressed else _SUBSCRIBED,
            )
            for e164, (_, (_, country, zone, digest, first, last, attributes)) in valid.items()
        )
        for contact_id, e164 in sql.insert_contacts(cursor, new, stamp) if new else ():
            line, result = valid.pop(e164)
            self._remember(contact_id)
            members.append(contact_id)
            if result[3] in suppressed:
                progress.kept_opted_out += 1
            else:
                progress.created += 1
                consenting.append((contact_id, line))
                consented.append((contact_id, e164))
                self.subscribed.append(contact_id)
        created = len(consenting)
        changed: list[tuple[Any, ...]] = []
        for found in sql.among(cursor, _EXISTING, list(valid)):
            contact_id = found[0]
            if self._seen(contact_id):
                progress.duplicates += 1
                continue
            line, (_, country, zone, digest, first, last, attributes) = valid[found[1]]
            old_attributes = sql.loads(found[5]) or {}
            merged_attributes = {**old_attributes, **json.loads(attributes)}
            if len(merged_attributes) > MAX_ATTRIBUTES:
                # Each file is capped, but files with other columns would add up without end.
                reason = (
                    f"the contact would have {len(merged_attributes)} attributes with this "
                    f"row's, where at most {MAX_ATTRIBUTES} are allowed"
                )
                rejections.append((self.import_id, line, reason, None))
                continue
            self._remember(contact_id)
            members.append(contact_id)
            opted_out = digest in suppressed or found[2] == _UNSUBSCRIBED
            merged = _merge(
                found, first, last, (old_attributes, merged_attributes), country, zone, opted_out
            )
            if merged is not None:
                changed.append((*merged, stamp, contact_id))
            if opted_out:
                progress.kept_opted_out += 1
            else:
                progress.updated += 1
                consenting.append((contact_id, line))
                consented.append((contact_id, found[1]))
        if changed:
            cursor.executemany(sql.update_contact, changed)
        if consenting:
            sql.insert_consents(cursor, consenting, self.source, self.evidence, stamp)
        if members and self.list_id is not None:
            added = sql.insert_members(cursor, self.list_id, members, stamp)
            if len(consenting) > created:
                updated = {contact_id for contact_id, _ in consenting[created:]}
                self.joined.extend(contact_id for contact_id in added if contact_id in updated)
        if rejections:
            cursor.executemany(sql.insert_rejection, rejections)
        progress.rows += len(lines)
        progress.rejected += len(rejections)
        return consented

    def _sort(
        self, lines: list[int], results: list[RowResult]
    ) -> tuple[dict[str, tuple[int, Accepted]], list[tuple[Any, ...]]]:
        """Valid rows by number (the first in the chunk wins) and rejected rows."""
        valid: dict[str, tuple[int, Accepted]] = {}
        rejections: list[tuple[Any, ...]] = []
        for line, result in zip(lines, results, strict=True):
            if len(result) == 2:
                rejections.append((self.import_id, line, result[0], result[1]))
            elif result[0] in valid:
                self.progress.duplicates += 1
            else:
                valid[result[0]] = (line, result)
        return valid, rejections

    def _seen(self, contact_id: int) -> bool:
        if contact_id >= _BITMAP_IDS:
            return contact_id in self._touched_set
        byte = contact_id >> 3
        bits = self._touched_bits
        return byte < len(bits) and bool(bits[byte] >> (contact_id & 7) & 1)

    def _remember(self, contact_id: int) -> None:
        if contact_id >= _BITMAP_IDS:
            self._touched_set.add(contact_id)
            return
        byte = contact_id >> 3
        if byte >= len(self._touched_bits):
            self._touched_bits.extend(bytes(byte + 1 - len(self._touched_bits) + 65_536))
        self._touched_bits[byte] |= 1 << (contact_id & 7)


def _merge(
    found: Any,
    first: str | None,
    last: str | None,
    attributes: tuple[dict[str, Any], dict[str, Any]],
    country: str | None,
    zone: str | None,
    opted_out: bool,
) -> tuple[Any, ...] | None:
    """SET values for an existing contact (names, attributes as they were and as merged,
    country, zone, status), or None when the file changes nothing. Country and time zone are
    only filled in: they may have been set by hand."""
    _, _, status, old_first, old_last, _, old_country, old_zone = found
    old, merged = attributes
    after = (
        first or old_first,
        last or old_last,
        merged,
        old_country or country,
        old_zone or zone,
        _UNSUBSCRIBED if opted_out else status,
    )
    if after == (old_first, old_last, old, old_country, old_zone, status):
        return None
    return (after[0], after[1], json.dumps(merged), *after[3:])
