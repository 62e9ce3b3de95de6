"""SQLAlchemy Core implementations of the web app's storage protocols."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kidshield.errors import Conflict, Refused
from kidshield.storage.db import Database
from kidshield.storage.protocols import ApiTokenInfo, AuditEntry, WebUser, account_key
from kidshield.storage.schema import (
    api_tokens,
    audit_log,
    web_sessions,
    web_settings,
    web_users,
)
from kidshield.storage.upsert import upsert


def _user(row: Any) -> WebUser:
    roles = frozenset(r for r in row.roles.split(",") if r)
    return WebUser(row.id, row.name, row.password_hash, roles, row.pin_hash, row.created_at,
                   row.pin_length)


# PostgreSQL advisory lock serialising revokes with tokens issued by tokens ("apitoken")
TOKENS_LOCK = 0x617069746F6B656E

SETUP_CLAIM = "setup.claimed"  # a web_settings key: only one first account is ever made


class SqlUserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def count(self) -> int:
        with self._db.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(web_users)).scalar()
                       or 0)

    def create(self, name: str, password_hash: str, roles: frozenset[str],
               now: datetime) -> WebUser:
        try:
            with self._db.engine.begin() as conn:
                result = conn.execute(web_users.insert().values(
                    name=name, name_key=account_key(name), password_hash=password_hash,
                    roles=",".join(sorted(roles)), created_at=now))
                new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        except sa.exc.IntegrityError as exc:
            # the name's key is unique: another server added it, in some spelling, after
            # the caller looked
            raise Conflict(f"an account named {name!r} already exists", field="name") from exc
        return WebUser(new_id, name, password_hash, roles, None, now)

    def create_first(self, name: str, password_hash: str, roles: frozenset[str],
                     now: datetime) -> WebUser | None:
        # The claim is a primary key: of several requests (or servers on one PostgreSQL)
        # trying at once, one inserts it and the others fail, in the same transaction as the
        # account itself.
        try:
            with self._db.engine.begin() as conn:
                conn.execute(web_settings.insert().values(key=SETUP_CLAIM,
                                                          value=now.isoformat()))
                if conn.execute(sa.select(sa.func.count()).select_from(web_users)).scalar():
                    raise _AlreadySetUp
                result = conn.execute(web_users.insert().values(
                    name=name, name_key=account_key(name), password_hash=password_hash,
                    roles=",".join(sorted(roles)), created_at=now))
                new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        except (sa.exc.IntegrityError, _AlreadySetUp):
            return None
        return WebUser(new_id, name, password_hash, roles, None, now)

    def by_name(self, name: str) -> WebUser | None:
        # the name as typed first: an account kept without a key (a case-duplicate from
        # before migration 0012) still signs in by its own spelling
        u = web_users.c
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_users).where(
                sa.or_(u.name == name, u.name_key == account_key(name)))
                .order_by((u.name == name).desc(), u.id).limit(1)).first()
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

    def set_pin(self, user_id: int, pin_hash: str | None, length: int | None) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_users.update().where(web_users.c.id == user_id)
                         .values(pin_hash=pin_hash, pin_length=length))


class _AlreadySetUp(Exception):
    pass


class SqlSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, token_hash: str, user_id: int, now: datetime,
               expires_at: datetime, keep: int) -> None:
        s = web_sessions.c
        with self._db.engine.begin() as conn:
            # SQLite: this first write takes the file's write lock, so sign-ins are in turn
            conn.execute(web_sessions.delete().where(s.expires_at < now))
            # PostgreSQL: sign-ins to one account wait for each other on its row (and only
            # those), so each trims with the others' sessions in sight, not one short
            conn.execute(sa.select(web_users.c.id).where(web_users.c.id == user_id)
                         .with_for_update())
            conn.execute(web_sessions.insert().values(
                id=token_hash, user_id=user_id, created_at=now, expires_at=expires_at))
            # this session and the newest others: another server's clock a little ahead
            # must not make the account keep one more
            newest = (sa.select(s.id).where(s.user_id == user_id)
                      .order_by((s.id == token_hash).desc(), s.created_at.desc(),
                                s.expires_at.desc()).limit(keep))
            conn.execute(web_sessions.delete().where(s.user_id == user_id)
                         .where(s.id.not_in(newest.scalar_subquery())))

    def user_for(self, token_hash: str, now: datetime) -> int | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(web_sessions.c.user_id)
                               .where(web_sessions.c.id == token_hash)
                               .where(web_sessions.c.expires_at > now)).first()
        return None if row is None else int(row.user_id)

    def delete(self, token_hash: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.id == token_hash))

    def delete_for_user(self, user_id: int, keep: str | None = None) -> int:
        query = web_sessions.delete().where(web_sessions.c.user_id == user_id)
        if keep is not None:
            query = query.where(web_sessions.c.id != keep)
        with self._db.engine.begin() as conn:
            return int(conn.execute(query).rowcount or 0)


def _token(row: Any) -> ApiTokenInfo:
    return ApiTokenInfo(row.id, row.user_id, row.name, row.created_at, row.last_used_at,
                        row.revoked_at, frozenset(x for x in row.scopes.split(",") if x),
                        row.expires_at, row.parent_id)


class SqlApiTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, user_id: int, name: str, token_hash: str, now: datetime,
               scopes: frozenset[str], expires_at: datetime,
               parent_id: int | None = None) -> ApiTokenInfo:
        # a token issued by a token: under the lock ``revoke`` holds, and only while the
        # issuing token is not revoked, so a revoke on another server either sees this one
        # in the family it walks or has already refused it
        with (self._db.locked_write(TOKENS_LOCK) if parent_id is not None
              else self._db.engine.begin()) as conn:
            if parent_id is not None and conn.execute(
                    sa.select(api_tokens.c.id).where(api_tokens.c.id == parent_id,
                                                     api_tokens.c.revoked_at.is_(None))
            ).first() is None:
                raise Refused("the token issuing this one has been revoked")
            result = conn.execute(api_tokens.insert().values(
                user_id=user_id, name=name, token_hash=token_hash, created_at=now,
                scopes=",".join(sorted(scopes)), expires_at=expires_at, parent_id=parent_id))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return ApiTokenInfo(new_id, user_id, name, now, scopes=scopes, expires_at=expires_at,
                            parent_id=parent_id)

    def find(self, token_hash: str, now: datetime) -> ApiTokenInfo | None:
        t = api_tokens.c
        with self._db.engine.begin() as conn:
            row = conn.execute(sa.select(api_tokens)
                               .where(t.token_hash == token_hash)
                               .where(t.revoked_at.is_(None))
                               .where(sa.or_(t.expires_at.is_(None), t.expires_at > now))
                               ).first()
            if row is None:
                return None
            conn.execute(api_tokens.update().where(t.id == row.id).values(last_used_at=now))
        return _token(row)

    def get(self, token_id: int) -> ApiTokenInfo | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
        return None if row is None else _token(row)

    def list(self, user_id: int | None = None) -> builtins.list[ApiTokenInfo]:
        query = sa.select(api_tokens).order_by(api_tokens.c.id)
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self._db.engine.connect() as conn:
            return [_token(r) for r in conn.execute(query)]

    def revoke(self, token_id: int, now: datetime) -> builtins.list[int]:
        t = api_tokens.c
        revoked: builtins.list[int] = []
        with self._db.locked_write(TOKENS_LOCK) as conn:
            found = conn.execute(sa.select(t.id).where(t.id == token_id)
                                 .where(t.revoked_at.is_(None))).first()
            if found is None:
                return []
            # the token and every token issued from it, however deep
            level = [token_id]
            family = [token_id]
            while level:
                level = [int(r.id) for r in conn.execute(
                    sa.select(t.id).where(t.parent_id.in_(level)))]
                family += level
            result = conn.execute(api_tokens.update().where(t.id.in_(family))
                                  .where(t.revoked_at.is_(None)).values(revoked_at=now)
                                  .returning(t.id))
            revoked = sorted(int(r.id) for r in result)
        return revoked

    def revoke_for_user(self, user_id: int, now: datetime) -> int:
        t = api_tokens.c
        with self._db.engine.begin() as conn:
            result = conn.execute(api_tokens.update().where(t.user_id == user_id)
                                  .where(t.revoked_at.is_(None)).values(revoked_at=now))
            return int(result.rowcount or 0)


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
            upsert(conn, web_settings, {"key": key, "value": value}, keys=["key"])
