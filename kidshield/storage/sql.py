"""SQLAlchemy Core implementation of the list metadata store (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.protocols import ListMeta
from kidshield.storage.schema import list_meta
from kidshield.storage.upsert import upsert


class SqlListMetaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> ListMeta | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(list_meta).where(list_meta.c.name == name)).first()
        return None if row is None else ListMeta(**row._asdict())

    def put(self, meta: ListMeta) -> None:
        values = dataclasses.asdict(meta)
        with self._db.engine.begin() as conn:
            upsert(conn, list_meta, values, keys=["name"])

    def all(self) -> list[ListMeta]:
        with self._db.engine.connect() as conn:
            rows = conn.execute(sa.select(list_meta).order_by(list_meta.c.name))
            return [ListMeta(**r._asdict()) for r in rows]

    def delete(self, name: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(list_meta.delete().where(list_meta.c.name == name))
