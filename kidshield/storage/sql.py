"""SQLAlchemy Core implementations of the storage protocols (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import sqlalchemy as sa

from kidshield.policy.state import Grant
from kidshield.storage.db import Database
from kidshield.storage.protocols import ListMeta
from kidshield.storage.schema import grants, list_meta, usage


class SqlGrantStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, grant: Grant, now: datetime) -> Grant:
        with self._db.engine.begin() as conn:
            result = conn.execute(
                grants.insert().values(
                    profile=grant.profile,
                    domain=grant.domain,
                    created_at=now,
                    until=grant.until,
                    granted_by=grant.granted_by,
                    note=grant.note,
                )
            )
            pk = result.inserted_primary_key
            new_id = int(pk[0]) if pk else None
        return dataclasses.replace(grant, id=new_id)

    def active(self, profile: str, now: datetime) -> list[Grant]:
        query = (
            sa.select(grants)
            .where(grants.c.profile == profile)
            .where(grants.c.revoked_at.is_(None))
            .where(sa.or_(grants.c.until.is_(None), grants.c.until > now))
            .order_by(grants.c.id)
        )
        with self._db.engine.connect() as conn:
            return [
                Grant(r.profile, r.domain, r.until, r.granted_by, r.note, r.id)
                for r in conn.execute(query)
            ]

    def revoke(self, grant_id: int, now: datetime) -> bool:
        with self._db.engine.begin() as conn:
            result = conn.execute(
                grants.update()
                .where(grants.c.id == grant_id)
                .where(grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return result.rowcount > 0


class SqlUsageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_minutes(
        self, profile: str, service: str, day: date, minutes: float, at: datetime
    ) -> None:
        key = (usage.c.profile == profile) & (usage.c.service == service) & (usage.c.day == day)
        with self._db.engine.begin() as conn:
            updated = conn.execute(
                usage.update().where(key).values(minutes=usage.c.minutes + minutes, last_seen=at)
            )
            if updated.rowcount == 0:
                conn.execute(
                    usage.insert().values(
                        profile=profile, service=service, day=day, minutes=minutes, last_seen=at
                    )
                )

    def minutes(self, profile: str, day: date) -> dict[str, float]:
        query = sa.select(usage.c.service, usage.c.minutes).where(
            (usage.c.profile == profile) & (usage.c.day == day)
        )
        with self._db.engine.connect() as conn:
            return {r.service: float(r.minutes) for r in conn.execute(query)}


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
            updated = conn.execute(
                list_meta.update().where(list_meta.c.name == meta.name).values(**values)
            )
            if updated.rowcount == 0:
                conn.execute(list_meta.insert().values(**values))

    def all(self) -> list[ListMeta]:
        with self._db.engine.connect() as conn:
            rows = conn.execute(sa.select(list_meta).order_by(list_meta.c.name))
            return [ListMeta(**r._asdict()) for r in rows]
