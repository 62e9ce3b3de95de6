"""SQLAlchemy Core implementation of the state source's store (``kidshield.state.store``):
grants, pauses, used minutes, access requests and dashboard edits, with a version per kind
that every write moves in its own transaction. The same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from kidshield.policy.state import Grant
from kidshield.state.store import (
    AccessRequest,
    ConfigEdit,
    EditEnd,
    EditStatus,
    Kind,
    PauseKind,
    PauseRecord,
    RequestDecision,
    UsageKey,
)
from kidshield.storage.db import Database
from kidshield.storage.protocols import AuditEntry
from kidshield.storage.schema import (
    access_requests,
    audit_log,
    config_edits,
    grants,
    internet_pauses,
    pauses,
    state_versions,
    usage_minutes,
)
from kidshield.storage.upsert import upsert

_PAUSE_TABLES: dict[PauseKind, sa.Table] = {"protection": pauses, "internet": internet_pauses}

# a concurrent edit of the same setting on another node: try again (it then ends that one)
_EDIT_ATTEMPTS = 5


def _grant(row: Any) -> Grant:
    return Grant(row.profile, row.domain, row.until, row.granted_by, row.note, row.id)


def _request(row: Any) -> AccessRequest:
    return AccessRequest(
        profile=row.profile, domain=row.domain, created_at=row.created_at, reason=row.reason,
        message=row.message, status=row.status, decision=row.decision, until=row.until,
        reply=row.reply, decided_at=row.decided_at, decided_by=row.decided_by, id=row.id)


def _edit(row: Any) -> ConfigEdit:
    return ConfigEdit(row.target, row.field, row.value, row.base, row.made_at, row.made_by,
                      EditStatus(row.status), row.ended_at, row.note, row.id)


class SqlStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reading ------------------------------------------------------------------------------
    def versions(self) -> dict[Kind, int]:
        with self._db.engine.connect() as conn:
            rows = conn.execute(sa.select(state_versions.c.kind, state_versions.c.version))
            found = {r.kind: int(r.version) for r in rows}
        return {kind: found.get(kind.value, 0) for kind in Kind}

    def active_grants(self, now: datetime) -> list[Grant]:
        query = (sa.select(grants).where(grants.c.revoked_at.is_(None))
                 .where(sa.or_(grants.c.until.is_(None), grants.c.until > now))
                 .order_by(grants.c.id))
        with self._db.engine.connect() as conn:
            return [_grant(r) for r in conn.execute(query)]

    def active_pauses(self, now: datetime) -> list[PauseRecord]:
        """Both kinds: protection lifted, and the internet paused."""
        found = []
        with self._db.engine.connect() as conn:
            for kind, table in _PAUSE_TABLES.items():
                rows = conn.execute(sa.select(table).where(table.c.until > now))
                found += [PauseRecord(r.profile, r.until, r.created_at, r.created_by, kind)
                          for r in rows]
        return found

    def minute_counts(self, since: date) -> dict[UsageKey, tuple[int, int]]:
        m = usage_minutes.c
        query = (sa.select(m.profile, m.service, m.day, sa.func.count(), sa.func.max(m.minute))
                 .where(m.day >= since).group_by(m.profile, m.service, m.day))
        with self._db.engine.connect() as conn:
            return {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in conn.execute(query)}

    def minutes_of(self, key: UsageKey, after: int | None = None) -> set[int]:
        m = usage_minutes.c
        profile, service, day = key
        query = sa.select(m.minute).where(m.profile == profile, m.service == service,
                                          m.day == day)
        if after is not None:
            query = query.where(m.minute > after)
        with self._db.engine.connect() as conn:
            return {int(v) for v in conn.execute(query).scalars()}

    def edits(self, statuses: Collection[EditStatus] = (EditStatus.ACTIVE,),
              limit: int = 1000) -> builtins.list[ConfigEdit]:
        query = (sa.select(config_edits)
                 .where(config_edits.c.status.in_([s.value for s in statuses]))
                 .order_by(config_edits.c.id.desc()).limit(limit))
        with self._db.engine.connect() as conn:
            return [_edit(r) for r in conn.execute(query)]

    def request(self, request_id: int) -> AccessRequest | None:
        with self._db.engine.connect() as conn:
            return self._request(conn, request_id)

    @staticmethod
    def _request(conn: Connection, request_id: int) -> AccessRequest | None:
        row = conn.execute(sa.select(access_requests)
                           .where(access_requests.c.id == request_id)).first()
        return None if row is None else _request(row)

    def requests(self, status: str | None = None, profile: str | None = None,
                 since: datetime | None = None,
                 limit: int = 100) -> builtins.list[AccessRequest]:
        query = sa.select(access_requests).order_by(access_requests.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(access_requests.c.status == status)
        if profile is not None:
            query = query.where(access_requests.c.profile == profile)
        if since is not None:
            query = query.where(access_requests.c.created_at >= since)
        with self._db.engine.connect() as conn:
            return [_request(r) for r in conn.execute(query)]

    # -- writing ------------------------------------------------------------------------------
    @staticmethod
    def _moved(conn: Connection, *kinds: Kind) -> None:
        for kind in kinds:
            conn.execute(state_versions.update().where(state_versions.c.kind == kind.value)
                         .values(version=state_versions.c.version + 1))

    @staticmethod
    def _audit(conn: Connection, entry: AuditEntry | None) -> None:
        if entry is not None:
            conn.execute(audit_log.insert().values(
                at=entry.at, actor=entry.actor[:128], action=entry.action[:64],
                target=entry.target[:255], detail=entry.detail))

    def set_pauses(self, pauses_: Sequence[PauseRecord], cleared: Sequence[str],
                   audit: AuditEntry | None = None, kind: PauseKind = "protection") -> None:
        table = _PAUSE_TABLES[kind]
        with self._db.engine.begin() as conn:
            touched = [*cleared, *(p.profile for p in pauses_)]
            if touched:
                conn.execute(table.delete().where(table.c.profile.in_(touched)))
            for p in pauses_:
                # an upsert: on PostgreSQL another server's delete of the same profile found
                # nothing either, and its insert may come first
                upsert(conn, table, {"profile": p.profile, "until": p.until,
                                     "created_at": p.created_at, "created_by": p.created_by},
                       keys=["profile"])
            self._moved(conn, Kind.PAUSES)
            self._audit(conn, audit)

    def add_grant(self, grant: Grant, now: datetime, audit: AuditEntry | None = None) -> Grant:
        with self._db.engine.begin() as conn:
            stored = self._add_grant(conn, grant, now)
            self._audit(conn, audit)
        return stored

    def _add_grant(self, conn: Connection, grant: Grant, now: datetime) -> Grant:
        result = conn.execute(grants.insert().values(
            profile=grant.profile, domain=grant.domain, created_at=now, until=grant.until,
            granted_by=grant.granted_by, note=grant.note))
        self._moved(conn, Kind.GRANTS)
        pk = result.inserted_primary_key
        return Grant(grant.profile, grant.domain, grant.until, grant.granted_by, grant.note,
                     int(pk[0]) if pk else None)

    def revoke_grant(self, grant_id: int, now: datetime,
                     audit: AuditEntry | None = None) -> Grant | None:
        with self._db.engine.begin() as conn:
            # the conditional update first: of two revokes at once (two servers) one ends the
            # grant and the other finds it ended (a read first let both "revoke" it)
            done = conn.execute(grants.update().where(grants.c.id == grant_id)
                                .where(grants.c.revoked_at.is_(None)).values(revoked_at=now))
            if done.rowcount != 1:
                return None
            row = conn.execute(sa.select(grants).where(grants.c.id == grant_id)).one()
            self._moved(conn, Kind.GRANTS)
            self._audit(conn, audit)
        return _grant(row)

    def add_minutes(self, minutes: Collection[tuple[str, str, date, int]]) -> None:
        if not minutes:
            return
        rows = [{"profile": p, "service": s, "day": d, "minute": m} for p, s, d, m in minutes]
        with self._db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # imported here: the dialect's modules cost a SQLite install 2 MB of memory
                from sqlalchemy.dialects import postgresql

                conn.execute(postgresql.insert(usage_minutes).on_conflict_do_nothing(), rows)
            else:
                conn.execute(sqlite.insert(usage_minutes).on_conflict_do_nothing(), rows)
            self._moved(conn, Kind.USAGE)

    def add_request(self, request: AccessRequest) -> AccessRequest:
        with self._db.engine.begin() as conn:
            result = conn.execute(access_requests.insert().values(
                created_at=request.created_at, profile=request.profile, domain=request.domain,
                reason=request.reason, message=request.message, status=request.status))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return AccessRequest(request.profile, request.domain, request.created_at,
                             request.reason, request.message, request.status, id=new_id)

    def decide_request(self, request_id: int, decision: RequestDecision,
                       grant: Grant | None = None, edits: Sequence[ConfigEdit] = (),
                       audit: AuditEntry | None = None) -> AccessRequest | None:
        for attempt in range(_EDIT_ATTEMPTS):
            try:
                with self._db.engine.begin() as conn:
                    updated = conn.execute(
                        access_requests.update().where(access_requests.c.id == request_id)
                        .values(status=decision.status, decision=decision.decision,
                                until=decision.until, reply=decision.reply,
                                decided_by=decision.by, decided_at=decision.at))
                    if updated.rowcount == 0:
                        return None
                    if grant is not None:
                        self._add_grant(conn, grant, decision.at)
                    if edits:
                        self._put_edits(conn, edits)
                    self._audit(conn, audit)
                    return self._request(conn, request_id)
            except IntegrityError:
                if attempt == _EDIT_ATTEMPTS - 1:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    def put_edits(self, edits: Sequence[ConfigEdit],
                  audit: AuditEntry | None = None) -> builtins.list[ConfigEdit]:
        for attempt in range(_EDIT_ATTEMPTS):
            try:
                with self._db.engine.begin() as conn:
                    stored = self._put_edits(conn, edits)
                    self._audit(conn, audit)
                    return stored
            except IntegrityError:
                # another node made an edit of the same setting at the same moment: its row
                # is committed now, so this attempt ends it like any earlier edit
                if attempt == _EDIT_ATTEMPTS - 1:
                    raise
        return []  # pragma: no cover - the loop returns or raises

    def _put_edits(self, conn: Connection, edits: Sequence[ConfigEdit]) -> list[ConfigEdit]:
        stored = []
        active = config_edits.c.status == EditStatus.ACTIVE.value
        for edit in edits:
            same = config_edits.c.target == edit.target
            # a whole table's edit ends its settings' edits too, and the other way round
            ends = (same if edit.field == "*"
                    else same & config_edits.c.field.in_([edit.field, "*"]))
            conn.execute(config_edits.update().where(active & ends).values(
                status=EditStatus.REPLACED.value, ended_at=edit.made_at,
                note=f"changed again by {edit.made_by}"))
            result = conn.execute(config_edits.insert().values(
                target=edit.target, field=edit.field, value=edit.value, base=edit.base,
                made_at=edit.made_at, made_by=edit.made_by, status=EditStatus.ACTIVE.value,
                note=edit.note))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            stored.append(ConfigEdit(edit.target, edit.field, edit.value, edit.base,
                                     edit.made_at, edit.made_by, EditStatus.ACTIVE, None,
                                     edit.note, new_id))
        self._moved(conn, Kind.EDITS)
        return stored

    def end_edits(self, ends: Sequence[EditEnd], now: datetime,
                  audit: AuditEntry | None = None) -> int:
        if not ends:
            return 0
        count = 0
        with self._db.engine.begin() as conn:
            for end in ends:
                result = conn.execute(
                    config_edits.update().where(config_edits.c.id == end.edit_id)
                    .where(config_edits.c.status == EditStatus.ACTIVE.value)
                    .values(status=end.status.value, ended_at=now, note=end.note))
                count += int(result.rowcount or 0)
            if count:
                self._moved(conn, Kind.EDITS)
                self._audit(conn, audit)
        return count
