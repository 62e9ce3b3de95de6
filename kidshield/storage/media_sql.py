"""SQLAlchemy Core implementation of ``MediaBankStore`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kidshield.errors import Conflict
from kidshield.safety.media.store import BankHash, MediaBank, MediaMatchRecord
from kidshield.storage.db import Database
from kidshield.storage.schema import media_bank_hashes, media_banks, media_match_records

_CHUNK = 500  # rows per IN (...) query / insert batch


class SqlMediaBankStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- banks ------------------------------------------------------------------------------
    def create_bank(self, bank: MediaBank, now: datetime) -> MediaBank:
        values = dataclasses.asdict(bank)
        values.pop("id")
        values["created_at"] = now
        try:
            with self._db.engine.begin() as conn:
                result = conn.execute(media_banks.insert().values(**values))
                pk = result.inserted_primary_key
        except sa.exc.IntegrityError as exc:
            # the name is unique: another server made the bank after the caller looked
            raise Conflict(f"a bank named {bank.name!r} already exists", field="name") from exc
        return dataclasses.replace(bank, id=int(pk[0]) if pk else None, created_at=now)

    def bank(self, name: str) -> MediaBank | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(media_banks).where(media_banks.c.name == name)).first()
        return None if row is None else _bank(row._asdict())

    def banks(self) -> list[MediaBank]:
        with self._db.engine.connect() as conn:
            rows = conn.execute(sa.select(media_banks).order_by(media_banks.c.name))
            return [_bank(r._asdict()) for r in rows]

    def set_enabled(self, name: str, enabled: bool) -> bool:
        with self._db.engine.begin() as conn:
            result = conn.execute(
                media_banks.update().where(media_banks.c.name == name).values(enabled=enabled)
            )
            return result.rowcount > 0

    # -- hashes -----------------------------------------------------------------------------
    def existing(self, bank_id: int, hashes: Sequence[str]) -> set[str]:
        found: set[str] = set()
        col = media_bank_hashes.c
        with self._db.engine.connect() as conn:
            for start in range(0, len(hashes), _CHUNK):
                chunk = list(hashes[start : start + _CHUNK])
                query = sa.select(col.hash).where(col.bank_id == bank_id, col.hash.in_(chunk))
                found.update(conn.execute(query).scalars())
        return found

    def add_hashes(self, bank_id: int, hashes: Sequence[BankHash], now: datetime) -> int:
        rows = [
            {
                "bank_id": bank_id,
                "hash": h.hash,
                "source": h.source,
                "reference_id": h.reference_id,
                "added_at": h.added_at or now,
                "added_by": h.added_by,
            }
            for h in hashes
        ]
        statement = self._insert_ignoring_duplicates()
        with self._db.engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK * 20):
                conn.execute(statement, rows[start : start + _CHUNK * 20])
        return len(rows)

    def _insert_ignoring_duplicates(self) -> Any:
        """A hash added concurrently by another writer is skipped, not an error."""
        dialect = self._db.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(media_bank_hashes).on_conflict_do_nothing()
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(media_bank_hashes).on_conflict_do_nothing()
        return media_bank_hashes.insert()

    def hash_ids(self, bank_id: int, after_id: int = 0) -> list[tuple[int, str]]:
        col = media_bank_hashes.c
        query = (
            sa.select(col.id, col.hash)
            .where(col.bank_id == bank_id, col.id > after_id)
            .order_by(col.id)
        )
        with self._db.engine.connect() as conn:
            return [(int(i), str(h)) for i, h in conn.execute(query)]

    def hashes(self, bank_id: int) -> Iterator[BankHash]:
        col = media_bank_hashes.c
        query = sa.select(media_bank_hashes).where(col.bank_id == bank_id).order_by(col.id)
        with self._db.engine.connect() as conn:
            for row in conn.execution_options(yield_per=5000).execute(query):
                yield BankHash(**row._asdict())

    def hashes_by_id(self, ids: Sequence[int]) -> dict[int, BankHash]:
        found: dict[int, BankHash] = {}
        col = media_bank_hashes.c
        with self._db.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                query = sa.select(media_bank_hashes).where(
                    col.id.in_(list(ids[start : start + _CHUNK]))
                )
                for row in conn.execute(query):
                    found[int(row.id)] = BankHash(**row._asdict())
        return found

    def count(self, bank_id: int) -> int:
        col = media_bank_hashes.c
        query = sa.select(sa.func.count()).select_from(media_bank_hashes)
        with self._db.engine.connect() as conn:
            return int(conn.execute(query.where(col.bank_id == bank_id)).scalar_one())

    # -- match records ----------------------------------------------------------------------
    def record_matches(self, records: Sequence[MediaMatchRecord]) -> None:
        if not records:
            return
        rows = []
        for record in records:
            values = dataclasses.asdict(record)
            values.pop("id")
            rows.append(values)
        with self._db.engine.begin() as conn:
            conn.execute(media_match_records.insert(), rows)

    def match_records(self, limit: int = 100) -> list[MediaMatchRecord]:
        col = media_match_records.c
        query = sa.select(media_match_records).order_by(col.id.desc()).limit(limit)
        with self._db.engine.connect() as conn:
            return [MediaMatchRecord(**r._asdict()) for r in conn.execute(query)]


def _bank(values: dict[str, Any]) -> MediaBank:
    values["enabled"] = bool(values["enabled"])
    return MediaBank(**values)
