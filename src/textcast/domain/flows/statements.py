"""The engine's statements over a whole chunk: its many-row INSERTs (history rows and texts),
and its lookups of a thousand ids, in one statement each.

PostgreSQL takes each column as one array, unnested into rows: the statement's text stays the
same whatever the number of rows, so neither SQLAlchemy nor psycopg compiles or parses
thousands of placeholders again each chunk (a multi-row VALUES did, and cost more than the
rest of a chunk; an `executemany` sent one statement per row). The arrays go in binary, as
the import's do (`imports.writing`). SQLite, in process, takes an `executemany`. For the
same reason a thousand ids go to PostgreSQL as one array (`= ANY`), not as a thousand
parameters of an IN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")

ColumnTypes = Mapping[str, str]
"""Each column written, and its PostgreSQL type (`json` columns are sent as text)."""


def insert_rows(
    session: Session,
    table: Table,
    types: ColumnTypes,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Write `rows` (each with every column of `types`); the `returning` columns of each."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        statement = insert(table)
        if returning:
            found = session.execute(
                statement.returning(*(table.c[name] for name in returning)), list(rows)
            )
            return [tuple(row) for row in found]
        session.execute(statement, list(rows))
        return []
    columns = list(types)
    arrays = [_column(rows, name, types[name]) for name in columns]
    selected = ", ".join(f"{name}::json" if types[name] == "json" else name for name in columns)
    unnested = ", ".join(
        f"%b::{'text' if types[name] == 'json' else types[name]}[]" for name in columns
    )
    names = ", ".join(columns)
    sql = (
        f"INSERT INTO {table.name} ({names}) SELECT {selected}"
        f" FROM unnest({unnested}) AS t({names})"
    )
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, arrays)
        return [tuple(row) for row in cursor.fetchall()] if returning else []
    finally:
        cursor.close()


def _column(rows: Sequence[Mapping[str, Any]], name: str, kind: str) -> list[Any]:
    values = [row[name] for row in rows]
    if kind == "json":
        return [None if value is None else json.dumps(value) for value in values]
    if kind == "text":
        return [None if value is None else str(value) for value in values]
    return values


def among(
    session: Session, column: QueryableAttribute[T], values: Sequence[T]
) -> ColumnElement[bool]:
    """`column` is one of `values` (any number of them)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
