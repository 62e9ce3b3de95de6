"""Insert-or-update in one statement (``INSERT ... ON CONFLICT``), on SQLite and PostgreSQL.

"Update, and insert when no row was updated" is two statements: on PostgreSQL two processes
both find no row, both insert, and one fails on the primary key; "read, then write what was
read plus one" loses one of two concurrent increments on either database. One ``ON CONFLICT``
statement is atomic on both (see docs/storage.md "Several servers on one database")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        # imported here: the dialect's modules cost a SQLite install 2 MB of memory
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def upsert(conn: Connection, table: sa.Table, values: Mapping[str, Any], *,
           keys: Sequence[str],
           update: Callable[[Any], Mapping[str, Any]] | None = None) -> None:
    """Insert ``values``, or, when a row with the same ``keys`` exists, update it: by default
    to ``values``; with ``update``, to what it returns given the statement's ``excluded``
    row (the values that were to be inserted), so the new value can build on the stored one."""
    statement = _insert(conn, table).values(**values)
    changes = (update(statement.excluded) if update is not None
               else {k: v for k, v in values.items() if k not in keys})
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=dict(changes)))


def insert_new(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert the rows whose key is not there yet (a concurrent writer's equal row is no
    error)."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), [dict(r) for r in rows])
