"""SQLAlchemy Core rows of hotline work, part of ``SqlReportStore``: the analyst's referral
assessment, on-call alerts, police notifications and notice sources."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kidshield.errors import NotFound
from kidshield.reports.changes import (
    SourceChange,
)
from kidshield.reports.store import (
    AlertRecord,
    AuditRecord,
    CaseRecord,
    PoliceRecord,
    SourceRecord,
)
from kidshield.storage.db import Database
from kidshield.storage.schema import (
    case_alerts,
    case_audit,
    case_decisions,
    case_referrals,
    cases,
    police_notifications,
    report_sources,
    reports,
)
from kidshield.storage.upsert import insert_new, upsert

R = TypeVar("R")
# the advisory lock (PostgreSQL) under which old contact digests are keyed
CONTACT_KEYING_LOCK = 0x636F6E74616374


def values_of(record: Any) -> dict[str, Any]:
    """A record's columns for an insert (the id is the database's to give)."""
    values = dataclasses.asdict(record)
    values.pop("id")
    return values


class HotlineRows:
    """Row access shared with ``SqlReportStore`` (which subclasses it)."""

    _db: Database

    def _insert(self, table: sa.Table, record: R) -> R:
        with self._db.engine.begin() as conn:
            return self._insert_in(conn, table, record)

    @staticmethod
    def _insert_in(conn: Connection, table: sa.Table, record: R) -> R:
        pk = conn.execute(table.insert().values(**values_of(record))).inserted_primary_key
        return dataclasses.replace(record, id=int(pk[0]) if pk else None)  # type: ignore[type-var]

    def _insert_for_case(self, table: sa.Table, record: R) -> R:
        """Insert a row that belongs to a case only while the case exists, so retention
        deleting the case at the same moment deletes the row with it or this is refused.
        Insert first, then lock the case's row against deletion (PostgreSQL: FOR KEY SHARE,
        so a concurrent delete waits for this commit and then removes the row with its case;
        SQLite: the insert already holds the write lock)."""
        with self._db.engine.begin() as conn:
            inserted = self._insert_in(conn, table, record)
            self._case_stays(conn, record.case_id)  # type: ignore[attr-defined]
        return inserted

    @staticmethod
    def _case_stays(conn: Connection, case_id: int) -> None:
        """After writing a row of the case: lock the case's row against deletion until this
        transaction ends, or refuse (roll back) when it is gone."""
        if conn.execute(sa.select(cases.c.id).where(cases.c.id == case_id)
                        .with_for_update(read=True, key_share=True)).first() is None:
            raise NotFound(f"case {case_id} no longer exists (deleted by retention)")

    @staticmethod
    def _audit_in(conn: Connection, audit: Sequence[AuditRecord]) -> None:
        if audit:
            conn.execute(case_audit.insert(), [values_of(entry) for entry in audit])

    def _select(self, cls: type[R], query: Any) -> list[R]:
        with self._db.engine.connect() as conn:
            return [cls(**r._asdict()) for r in conn.execute(query)]

    def referral(self, case_id: int) -> tuple[str, datetime, str] | None:
        r = case_referrals.c
        with self._db.engine.connect() as conn:
            row = conn.execute(sa.select(r.data, r.updated_at, r.updated_by)
                               .where(r.case_id == case_id)).first()
        return None if row is None else (str(row[0]), row[1], str(row[2]))

    def save_referral(self, case_id: int, data: str, at: datetime, by: str) -> None:
        with self._db.engine.begin() as conn:
            upsert(conn, case_referrals, {"case_id": case_id, "data": data, "updated_at": at,
                                          "updated_by": by}, keys=["case_id"])
            self._case_stays(conn, case_id)

    def claim_alert(self, case_id: int, seen: int, at: datetime) -> int | None:
        # the count is raised in SQL, conditional on the value read: of two servers that read
        # the same count, one raises it and pages (a read-then-write of count + 1 lost one)
        c = cases.c
        with self._db.engine.begin() as conn:
            done = conn.execute(cases.update().where(c.id == case_id, c.alerts == seen)
                                .values(alerts=c.alerts + 1, last_alert_at=at))
        return seen + 1 if done.rowcount == 1 else None

    def add_alert(self, alert: AlertRecord) -> None:
        # an alert is about an open case, which retention never deletes; the alert's number,
        # channel and target are unique: written again (another server, a retry), no new row
        with self._db.engine.begin() as conn:
            insert_new(conn, case_alerts, [values_of(alert)])

    def alerts(self, case_id: int) -> list[AlertRecord]:
        c = case_alerts.c
        return self._select(AlertRecord, sa.select(case_alerts).where(c.case_id == case_id)
                            .order_by(c.id))

    def critical_open_cases(self) -> list[CaseRecord]:
        c = cases.c
        query = sa.select(cases).where(
            c.state != "closed",
            sa.or_(c.imminent_danger.is_(True), c.case_type == "abuse_material"),
        ).order_by(c.id)
        return self._select(CaseRecord, query)

    def add_police(self, record: PoliceRecord) -> PoliceRecord:
        return self._insert_for_case(police_notifications, record)

    def police(self, case_id: int) -> list[PoliceRecord]:
        c = police_notifications.c
        return self._select(PoliceRecord, sa.select(police_notifications)
                            .where(c.case_id == case_id).order_by(c.id))

    def add_source(self, source: SourceRecord) -> SourceRecord:
        try:
            return self._insert(report_sources, source)
        except sa.exc.IntegrityError:
            # a notifier's first notices on two servers at once: the other one's row is
            # committed now (its contact digest is unique), and it is the same notifier
            found = (self.source_by(contact_sha256=source.contact_sha256)
                     if source.contact_sha256 is not None else None)
            if found is None:
                raise
            return found

    def source(self, source_id: int) -> SourceRecord | None:
        found = self._select(SourceRecord, sa.select(report_sources)
                             .where(report_sources.c.id == source_id))
        return found[0] if found else None

    def source_by(self, *, key_sha256: str | None = None,
                  contact_sha256: str | None = None) -> SourceRecord | None:
        c = report_sources.c
        if key_sha256 is not None:
            query = sa.select(report_sources).where(c.key_sha256 == key_sha256)
        elif contact_sha256 is not None:
            query = sa.select(report_sources).where(c.contact_sha256 == contact_sha256)
        else:
            return None
        found = self._select(SourceRecord, query)
        return found[0] if found else None

    def key_contacts(self, keyed: Callable[[str], str]) -> int:
        """Key the contact digests stored before migration 0014 (plain SHA-256) with
        ``keyed``; returns how many. Under the write lock, so two servers starting at once
        key each row once."""
        c = report_sources.c
        with self._db.locked_write(CONTACT_KEYING_LOCK) as conn:
            rows = conn.execute(sa.select(c.id, c.contact_sha256)
                                .where(c.contact_keyed == sa.false())).all()
            for row_id, old in rows:
                conn.execute(report_sources.update().where(c.id == row_id).values(
                    contact_sha256=None if old is None else keyed(str(old)),
                    contact_keyed=True))
        return len(rows)

    def sources(self) -> list[SourceRecord]:
        return self._select(SourceRecord, sa.select(report_sources)
                            .order_by(report_sources.c.id))

    def update_source(self, source_id: int, change: SourceChange,
                      audit: Sequence[AuditRecord] = ()) -> None:
        with self._db.engine.begin() as conn:
            if values := change.values():
                conn.execute(report_sources.update().where(report_sources.c.id == source_id)
                             .values(**values))
            self._audit_in(conn, audit)

    def unfounded_notices(self, source_id: int, since: datetime) -> int:
        d = case_decisions.c
        unfounded_cases = sa.select(d.case_id).where(
            d.unfounded.is_(True), d.status == "final", d.at >= since)
        query = sa.select(sa.func.count()).select_from(reports).where(
            reports.c.source_id == source_id, reports.c.case_id.in_(unfounded_cases))
        with self._db.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

