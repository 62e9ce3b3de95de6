"""SQLAlchemy Core implementations of the web app's storage protocols."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.protocols import ApiTokenInfo, AuditEntry, WebUser
from kidshield.storage.schema import (
    api_tokens,
    audit_log,
    web_sessions,
    web_settings,
    web_users,
)


def _user(row: Any) -> WebUser:
    roles = frozenset(r for r in row.roles.split(",") if r)
    return WebUser(row.id, row.name, row.password_hash, roles, row.pin_hash, row.created_at)


class SqlUserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def count(self) -> int:
        with self._db.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(web_users)).scalar()
                       or 0)

    def create(self, name: str, password_hash: str, roles: frozenset[str],
               now: datetime) -> WebUser:
        with self._db.engine.begin() as conn:
            result = conn.execute(web_users.insert().values(
                name=name, password_hash=password_hash, roles=",".join(sorted(roles)),
                created_at=now))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return WebUser(new_id, name, password_hash, roles, None, now)

    def by_name(self, name: str) -> WebUser | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_users).where(web_users.c.name == name)).first()
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> WebUser | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_users).where(web_users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def all(self) -> builtins.list[WebUser]:
        with self._db.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(web_users).order_by(web_users.c.id))]

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_users.update().where(web_users.c.id == user_id)
                         .values(password_hash=password_hash))

    def set_pin(self, user_id: int, pin_hash: str | None) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_users.update().where(web_users.c.id == user_id)
                         .values(pin_hash=pin_hash))


class SqlSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, token_hash: str, user_id: int, now: datetime,
               expires_at: datetime) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
            conn.execute(web_sessions.insert().values(
                id=token_hash, user_id=user_id, created_at=now, expires_at=expires_at))

    def user_for(self, token_hash: str, now: datetime) -> int | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_sessions.c.user_id)
                               .where(web_sessions.c.id == token_hash)
                               .where(web_sessions.c.expires_at > now)).first()
        return None if row is None else int(row.user_id)

    def delete(self, token_hash: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.id == token_hash))


def _token(row: Any) -> ApiTokenInfo:
    return ApiTokenInfo(row.id, row.user_id, row.name, row.created_at, row.last_used_at,
                        row.revoked_at)


class SqlApiTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, user_id: int, name: str, token_hash: str, now: datetime) -> ApiTokenInfo:
        with self._db.engine.begin() as conn:
            result = conn.execute(api_tokens.insert().values(
                user_id=user_id, name=name, token_hash=token_hash, created_at=now))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return ApiTokenInfo(new_id, user_id, name, now)

    def user_for(self, token_hash: str, now: datetime) -> int | None:
        with self._db.engine.begin() as conn:
            row = conn.execute(sa.select(api_tokens.c.id, api_tokens.c.user_id)
                               .where(api_tokens.c.token_hash == token_hash)
                               .where(api_tokens.c.revoked_at.is_(None))).first()
            if row is None:
                return None
            conn.execute(api_tokens.update().where(api_tokens.c.id == row.id)
                         .values(last_used_at=now))
        return int(row.user_id)

    def list(self) -> builtins.list[ApiTokenInfo]:
        with self._db.engine.connect() as conn:
            return [_token(r) for r in conn.execute(sa.select(api_tokens)
                                                    .order_by(api_tokens.c.id))]

    def revoke(self, token_id: int, now: datetime) -> bool:
        with self._db.engine.begin() as conn:
            result = conn.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                                  .where(api_tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=now))
            return result.rowcount > 0


class SqlAuditLog:
    """Append-only: this class has no update or delete on purpose."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, entry: AuditEntry) -> AuditEntry:
        with self._db.engine.begin() as conn:
            result = conn.execute(audit_log.insert().values(
                at=entry.at, actor=entry.actor[:128], action=entry.action[:64],
                target=entry.target[:255], detail=entry.detail))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return AuditEntry(entry.at, entry.actor, entry.action, entry.target, entry.detail,
                          new_id)

    def recent(self, limit: int = 100, offset: int = 0) -> builtins.list[AuditEntry]:
        query = (sa.select(audit_log).order_by(audit_log.c.id.desc())
                 .limit(limit).offset(offset))
        with self._db.engine.connect() as conn:
            return [AuditEntry(r.at, r.actor, r.action, r.target, r.detail, r.id)
                    for r in conn.execute(query)]


class SqlSettingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_settings.c.value)
                               .where(web_settings.c.key == key)).first()
        return None if row is None else str(row.value)

    def put(self, key: str, value: str) -> None:
        with self._db.engine.begin() as conn:
            updated = conn.execute(web_settings.update().where(web_settings.c.key == key)
                                   .values(value=value))
            if updated.rowcount == 0:
                conn.execute(web_settings.insert().values(key=key, value=value))
