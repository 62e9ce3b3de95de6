"""SQLAlchemy Core implementation of ``ReportStore`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kidshield.reports.changes import (
    AppealChange,
    CaseChange,
    DecisionChange,
    Settlement,
)
from kidshield.reports.store import (
    GENESIS,
    AppealRecord,
    AuditRecord,
    CaseChanged,
    CaseRecord,
    DecisionRecord,
    Effects,
    EvidenceHead,
    EvidenceRecord,
    MediaMatchForCase,
    NoteRecord,
    ReportRecord,
    Seal,
)
from kidshield.storage.db import Database
from kidshield.storage.reports_hotline_sql import HotlineRows, values_of
from kidshield.storage.schema import (
    case_alerts,
    case_appeals,
    case_audit,
    case_decisions,
    case_keys,
    case_notes,
    case_referrals,
    cases,
    evidence,
    evidence_heads,
    media_banks,
    media_match_records,
    police_notifications,
    query_log,
    report_drafts,
    report_sources,
    reports,
    staff_exposure,
)
from kidshield.storage.upsert import insert_new, upsert

# PostgreSQL advisory lock serialising appends to the evidence chain ("evidence" in ASCII)
EVIDENCE_LOCK = 0x65766964656E6365

# PostgreSQL advisory lock serialising the opening of new cases ("intake" in ASCII)
INTAKE_LOCK = 0x696E74616B65

EXPIRABLE = ("reports", "cases", "evidence", "query_log", "audit", "drafts")

class SqlReportStore(HotlineRows):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._append_lock = threading.Lock()

    # -- reports and drafts -------------------------------------------------------------------
    def add_report(self, report: ReportRecord) -> ReportRecord:
        return self._insert(reports, report)

    def report_by_code(self, code: str) -> ReportRecord | None:
        found = self._select(ReportRecord, sa.select(reports).where(reports.c.code == code))
        return found[0] if found else None

    def reports_for_case(self, case_id: int) -> list[ReportRecord]:
        query = sa.select(reports).where(reports.c.case_id == case_id).order_by(reports.c.id)
        return self._select(ReportRecord, query)

    def reports_between(self, start: datetime, end: datetime) -> list[ReportRecord]:
        c = reports.c
        query = sa.select(reports).where(c.created_at >= start, c.created_at < end)
        return self._select(ReportRecord, query.order_by(c.id))

    def save_draft(self, token: str, data: str, now: datetime) -> None:
        with self._db.engine.begin() as conn:
            upsert(conn, report_drafts, {"token": token, "data": data, "updated_at": now},
                   keys=["token"])

    def draft(self, token: str) -> str | None:
        with self._db.engine.connect() as conn:
            query = sa.select(report_drafts.c.data).where(report_drafts.c.token == token)
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def delete_draft(self, token: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(report_drafts.delete().where(report_drafts.c.token == token))

    # -- cases ----------------------------------------------------------------------------------
    def add_case(self, case: CaseRecord) -> CaseRecord:
        return self._insert(cases, case)

    def case(self, case_id: int) -> CaseRecord | None:
        found = self._select(CaseRecord, sa.select(cases).where(cases.c.id == case_id))
        return found[0] if found else None

    def open_case_by_keys(self, keys: Sequence[str]) -> CaseRecord | None:
        if not keys:
            return None
        found = self._select(CaseRecord, self._open_by_keys(keys))
        return found[0] if found else None

    @staticmethod
    def _open_by_keys(keys: Sequence[str]) -> Any:
        matching = sa.select(case_keys.c.case_id).where(case_keys.c.key.in_(list(keys)))
        return (
            sa.select(cases)
            .where(cases.c.id.in_(matching), cases.c.state != "closed")
            .order_by(cases.c.priority.desc(), cases.c.id)
            .limit(1)
        )

    def add_case_unless_open(self, case: CaseRecord, keys: Sequence[str]
                             ) -> tuple[CaseRecord | None, CaseRecord | None]:
        if not keys:
            return self.add_case(case), None
        with self._db.locked_write(INTAKE_LOCK) as conn:
            row = conn.execute(self._open_by_keys(keys)).first()
            if row is not None:
                return None, CaseRecord(**row._asdict())
            stored = self._insert_in(conn, cases, case)
            insert_new(conn, case_keys, [{"case_id": stored.id, "key": k}
                                         for k in dict.fromkeys(keys)])
        return stored, None

    def add_case_keys(self, case_id: int, keys: Sequence[str]) -> None:
        with self._db.engine.begin() as conn:
            insert_new(conn, case_keys, [{"case_id": case_id, "key": k}
                                         for k in dict.fromkeys(keys)])

    def update_case(self, case_id: int, change: CaseChange,
                    audit: Sequence[AuditRecord] = (),
                    appeal: tuple[int, AppealChange] | None = None, *,
                    if_state: str | None = None, if_reports: int | None = None) -> None:
        checks = [] if if_state is None else [cases.c.state == if_state]
        if if_reports is not None:  # and not merged into another case meanwhile
            checks += [cases.c.reports_count == if_reports, cases.c.merged_into.is_(None)]
        with self._db.engine.begin() as conn:
            if checks:
                # first, as ``_claim``: a concurrent decision's closing (or merge) is waited
                # for and seen
                done = conn.execute(cases.update().where(cases.c.id == case_id, *checks)
                                    .values(state=cases.c.state))
                if done.rowcount != 1:
                    raise CaseChanged(case_id, "changed")
            self._change_case(conn, case_id, change)
            if appeal is not None:
                self._change_appeal(conn, *appeal)
            self._audit_in(conn, audit)

    @staticmethod
    def _change_case(conn: Connection, case_id: int, change: CaseChange) -> None:
        if values := change.values():
            conn.execute(cases.update().where(cases.c.id == case_id).values(**values))

    @staticmethod
    def _change_appeal(conn: Connection, appeal_id: int, change: AppealChange) -> None:
        if values := change.values():
            conn.execute(case_appeals.update().where(case_appeals.c.id == appeal_id)
                         .values(**values))

    def _settle(self, conn: Connection, settle: Settlement | None) -> None:
        if settle is None:
            return
        self._change_case(conn, settle.case_id, settle.case)
        if settle.appeal_id is not None and settle.appeal is not None:
            self._change_appeal(conn, settle.appeal_id, settle.appeal)

    def queue(self, limit: int = 200, offset: int = 0) -> list[CaseRecord]:
        c = cases.c
        query = (
            sa.select(cases)
            .where(c.state != "closed")
            .order_by(c.priority.desc(), c.created_at, c.id)
            .limit(limit)
            .offset(offset)
        )
        return self._select(CaseRecord, query)

    def cases_between(self, start: datetime, end: datetime) -> list[CaseRecord]:
        c = cases.c
        query = sa.select(cases).where(c.created_at >= start, c.created_at < end)
        return self._select(CaseRecord, query.order_by(c.id))

    # -- decisions, appeals, notes, audit ------------------------------------------------------
    @staticmethod
    def _claim(conn: Connection, case_id: int | Any, version: int | None) -> None:
        """The first statement of a deciding transaction: the case moves to the next version
        only if it is still at ``version``. PostgreSQL makes a concurrent claim wait for this
        transaction and then compares with the row it committed; SQLite lets one writer in
        at a time. So of two writers that read the same version, the second finds it gone."""
        if version is None:
            return
        c = cases.c
        done = conn.execute(cases.update().where(c.id == case_id, c.version == version)
                            .values(version=version + 1))
        if done.rowcount != 1:
            raise CaseChanged(case_id if isinstance(case_id, int) else None)

    def add_decision(self, decision: DecisionRecord, settle: Settlement | None = None,
                     audit: Sequence[AuditRecord] = (), *, version: int | None = None,
                     then: Effects | None = None) -> DecisionRecord:
        with self._db.engine.begin() as conn:
            self._claim(conn, decision.case_id, version)
            effects = then() if then is not None else ()
            stored = self._insert_in(conn, case_decisions, decision)
            self._settle(conn, settle)
            self._audit_in(conn, [*audit, *effects])
        return stored

    def decisions(self, case_id: int) -> list[DecisionRecord]:
        c = case_decisions.c
        query = sa.select(case_decisions).where(c.case_id == case_id).order_by(c.id)
        return self._select(DecisionRecord, query)

    def update_decision(self, decision_id: int, change: DecisionChange,
                        settle: Settlement | None = None,
                        audit: Sequence[AuditRecord] = (), *, version: int | None = None,
                        then: Effects | None = None) -> None:
        with self._db.engine.begin() as conn:
            self._claim(conn, sa.select(case_decisions.c.case_id)
                        .where(case_decisions.c.id == decision_id).scalar_subquery(), version)
            effects = then() if then is not None else ()
            if values := change.values():
                conn.execute(case_decisions.update()
                             .where(case_decisions.c.id == decision_id).values(**values))
            self._settle(conn, settle)
            self._audit_in(conn, [*audit, *effects])

    def decisions_between(self, start: datetime, end: datetime) -> list[DecisionRecord]:
        c = case_decisions.c
        query = sa.select(case_decisions).where(c.at >= start, c.at < end).order_by(c.id)
        return self._select(DecisionRecord, query)

    def add_appeal(self, appeal: AppealRecord, case: CaseChange,
                   audit: Sequence[AuditRecord] = (), *, version: int | None = None
                   ) -> AppealRecord:
        with self._db.engine.begin() as conn:
            self._claim(conn, appeal.case_id, version)
            stored = self._insert_in(conn, case_appeals, appeal)
            self._change_case(conn, appeal.case_id, case)
            self._audit_in(conn, audit)
        return stored

    def open_appeal(self, case_id: int) -> AppealRecord | None:
        c = case_appeals.c
        query = (
            sa.select(case_appeals)
            .where(c.case_id == case_id, c.decided_at.is_(None))
            .order_by(c.id)
            .limit(1)
        )
        found = self._select(AppealRecord, query)
        return found[0] if found else None

    def appeals_between(self, start: datetime, end: datetime) -> list[AppealRecord]:
        c = case_appeals.c
        query = sa.select(case_appeals).where(c.at >= start, c.at < end).order_by(c.id)
        return self._select(AppealRecord, query)

    def add_note(self, note: NoteRecord) -> NoteRecord:
        return self._insert_for_case(case_notes, note)

    def notes(self, case_id: int) -> list[NoteRecord]:
        c = case_notes.c
        return self._select(
            NoteRecord, sa.select(case_notes).where(c.case_id == case_id).order_by(c.id)
        )

    def audit(self, entry: AuditRecord) -> None:
        self._insert(case_audit, entry)

    def audit_trail(self, case_id: int) -> list[AuditRecord]:
        c = case_audit.c
        return self._select(
            AuditRecord, sa.select(case_audit).where(c.case_id == case_id).order_by(c.id)
        )

    # -- evidence chain --------------------------------------------------------------------------
    def append_evidence(
        self,
        case_id: int,
        at: datetime,
        kind: str,
        content: str,
        content_sha256: str,
        link: Callable[[str], str],
        seal: Seal | None = None,
    ) -> EvidenceRecord:
        # the read of the head and the insert hold the write lock together, so no other
        # writer (thread or process) links to the same head; prev_hash being unique stays the
        # database's own guard against a fork
        with self._append_lock, self._db.locked_write(EVIDENCE_LOCK) as conn:
            return self._append_in(conn, case_id, at, kind, (content, content_sha256),
                                   lambda prev, _: link(prev), seal)

    @staticmethod
    def _append_in(conn: Connection, case_id: int, at: datetime, kind: str,
                   content: tuple[str, str], link: Callable[[str, str], str],
                   seal: Seal | None) -> EvidenceRecord:
        """Append one record (canonical JSON, its digest) in a transaction holding the
        evidence lock; ``link(prev_hash, digest)`` gives its record hash."""
        last = conn.execute(
            sa.select(evidence.c.record_hash).order_by(evidence.c.id.desc()).limit(1)
        ).scalar()
        prev = str(last) if last is not None else GENESIS
        text, digest = content
        record = EvidenceRecord(
            case_id=case_id, at=at, kind=kind, content=text,
            content_sha256=digest, prev_hash=prev, record_hash=link(prev, digest),
        )
        pk = conn.execute(evidence.insert().values(**values_of(record))).inserted_primary_key
        if seal is not None:
            count = int(conn.execute(
                sa.select(sa.func.count()).select_from(evidence)).scalar_one())
            key_id, signature = seal(count, record.record_hash)
            conn.execute(evidence_heads.insert().values(
                at=at, records=count, head_hash=record.record_hash, key_id=key_id,
                signature=signature))
        return dataclasses.replace(record, id=int(pk[0]) if pk else None)

    def merge_cases(self, into: CaseRecord, source: CaseRecord, into_change: CaseChange,
                    source_change: CaseChange, audit: Sequence[AuditRecord], *,
                    at: datetime, kind: str, content: Callable[[str | None], tuple[str, str]],
                    link: Callable[[str, str], str], seal: Seal | None = None
                    ) -> EvidenceRecord:
        assert into.id is not None and source.id is not None
        c = cases.c
        with self._append_lock, self._db.locked_write(EVIDENCE_LOCK) as conn:
            for case in (into, source):  # as ``_claim``, and neither closed meanwhile
                done = conn.execute(cases.update().where(
                    c.id == case.id, c.version == case.version, c.state == case.state,
                    c.state != "closed").values(version=case.version + 1))
                if done.rowcount != 1:
                    raise CaseChanged(case.id, "changed")
            conn.execute(reports.update().where(reports.c.case_id == source.id)
                         .values(case_id=into.id))
            keys = conn.execute(sa.select(case_keys.c.key)
                                .where(case_keys.c.case_id == source.id)).scalars()
            insert_new(conn, case_keys, [{"case_id": into.id, "key": k} for k in keys])
            self._change_case(conn, into.id, into_change)
            self._change_case(conn, source.id, source_change)
            # the merge record goes on the chain of the case that goes on (A), naming B's head
            head = conn.execute(sa.select(evidence.c.record_hash)
                                .where(evidence.c.case_id == source.id)
                                .order_by(evidence.c.id.desc()).limit(1)).scalar()
            record = self._append_in(conn, into.id, at, kind,
                                     content(None if head is None else str(head)), link, seal)
            actor = audit[0].actor if audit else ""
            self._audit_in(conn, [*audit, AuditRecord(into.id, at, actor, "evidence",
                                                      f"{kind} record {record.id}")])
        return record

    def evidence(self, case_id: int | None = None) -> list[EvidenceRecord]:
        query = sa.select(evidence).order_by(evidence.c.id)
        if case_id is not None:
            query = query.where(evidence.c.case_id == case_id)
        return self._select(EvidenceRecord, query)

    def latest_head(self) -> EvidenceHead | None:
        query = sa.select(evidence_heads).order_by(evidence_heads.c.id.desc()).limit(1)
        found = self._select(EvidenceHead, query)
        return found[0] if found else None

    def held_case_ids(self) -> list[int]:
        with self._db.engine.connect() as conn:
            return [int(i) for i in conn.execute(
                sa.select(cases.c.id).where(cases.c.legal_hold.is_(True))).scalars()]

    @staticmethod
    def _kept() -> Any:
        """A case whose evidence content must stay: open, on legal hold, or escalated with the
        escalation's outcome not yet recorded. Of the case's own row only: PostgreSQL checks
        such a condition again on the row a concurrent writer just committed (a legal hold)
        before deleting it, where a subquery's answer would be the older one."""
        c = cases.c
        return sa.or_(c.state != "closed", c.legal_hold.is_(True),
                      sa.and_(c.escalated_at.is_not(None), c.escalation_closed_at.is_(None)))

    def _evidence_kept(self) -> Any:
        # a merged case's evidence (its reports' records) stays while the case it was merged
        # into keeps its own: those reports are worked there
        kept = sa.select(cases.c.id).where(self._kept())
        return sa.union(kept, sa.select(cases.c.id).where(cases.c.merged_into.in_(kept)))

    def purge_evidence(self, cutoff: datetime, now: datetime, *, dry_run: bool) -> list[int]:
        due = sa.and_(evidence.c.at < cutoff, evidence.c.content.is_not(None),
                      evidence.c.kind != "retention_purge")
        where = sa.and_(due, evidence.c.case_id.not_in(self._evidence_kept()))
        with self._db.engine.begin() as conn:
            if not dry_run and conn.dialect.name == "postgresql":
                # PostgreSQL: first hold the rows of the cases about to lose evidence, so a
                # legal hold waits for this purge to commit, and one committed meanwhile is
                # seen (a locking read checks the row again). The purge's subquery alone read
                # the cases as they were when it started: a hold stored while it ran, with
                # the evidence still shown after it, lost that evidence at this commit.
                # SQLite needs none of it: the one UPDATE below holds the file's write lock.
                conn.execute(sa.select(cases.c.id).where(
                    sa.not_(self._kept()), cases.c.id.in_(sa.select(evidence.c.case_id)
                                                          .where(due)))
                    .with_for_update(read=True))
            if dry_run:
                return [int(i) for i in conn.execute(
                    sa.select(evidence.c.id).where(where).order_by(evidence.c.id)).scalars()]
            # one statement that chooses and purges: choosing first and purging those ids
            # after ignored a legal hold put on the case in between
            return sorted(int(i) for i in conn.execute(
                evidence.update().where(where).values(content=None, purged_at=now)
                .returning(evidence.c.id)).scalars())

    def audited_evidence_ids(self) -> list[int]:
        query = sa.select(case_audit.c.detail).where(case_audit.c.action == "evidence")
        with self._db.engine.connect() as conn:
            details = list(conn.execute(query).scalars())
        found = []
        for detail in details:
            number = str(detail).rpartition(" record ")[2]
            if number.isdigit():
                found.append(int(number))
        return sorted(found)

    # -- wellbeing -------------------------------------------------------------------------------
    def add_reveal(self, user: str, day: date) -> int:
        key = (staff_exposure.c.user == user) & (staff_exposure.c.day == day)
        with self._db.engine.begin() as conn:
            upsert(conn, staff_exposure, {"user": user, "day": day, "reveals": 1},
                   keys=["user", "day"],
                   update=lambda _new: {"reveals": staff_exposure.c.reveals + 1})
            # this transaction holds the row's lock now: the count read is its own
            return int(conn.execute(sa.select(staff_exposure.c.reveals).where(key)).scalar_one())

    def reveals(self, user: str, day: date) -> int:
        key = (staff_exposure.c.user == user) & (staff_exposure.c.day == day)
        with self._db.engine.connect() as conn:
            value = conn.execute(sa.select(staff_exposure.c.reveals).where(key)).scalar()
        return int(value or 0)

    # -- transparency and retention ----------------------------------------------------------
    def hash_matches_by_bank(self, start: datetime, end: datetime) -> dict[str, int]:
        m = media_match_records.c
        query = (
            sa.select(media_banks.c.name, sa.func.count())
            .select_from(media_match_records.join(media_banks, m.bank_id == media_banks.c.id))
            .where(m.at >= start, m.at < end, m.cancelled_by.is_(None))
            .group_by(media_banks.c.name)
            .order_by(media_banks.c.name)
        )
        with self._db.engine.connect() as conn:
            return {str(name): int(n) for name, n in conn.execute(query)}

    def open_at(self, end: datetime) -> list[CaseRecord]:
        c = cases.c
        query = sa.select(cases).where(
            c.created_at < end, sa.or_(c.closed_at.is_(None), c.closed_at >= end))
        return self._select(CaseRecord, query.order_by(c.id))

    def audit_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        a = case_audit.c
        query = (sa.select(a.action, sa.func.count()).where(a.at >= start, a.at < end)
                 .group_by(a.action))
        with self._db.engine.connect() as conn:
            return {str(action): int(n) for action, n in conn.execute(query)}

    def new_media_matches(self, since: datetime, limit: int = 1000) -> list[MediaMatchForCase]:
        m = media_match_records.c
        imported = sa.select(reports.c.media_record_id).where(
            reports.c.media_record_id.is_not(None))
        query = (
            sa.select(m.id, m.at, media_banks.c.name, m.query_hash, m.matched_hash, m.distance,
                      m.caller)
            .select_from(media_match_records.join(media_banks, m.bank_id == media_banks.c.id))
            .where(m.at >= since, m.cancelled_by.is_(None), m.id.not_in(imported))
            .order_by(m.id)
            .limit(limit)
        )
        with self._db.engine.connect() as conn:
            return [MediaMatchForCase(int(r[0]), r[1], str(r[2]), str(r[3]), str(r[4]),
                                      int(r[5]), str(r[6])) for r in conn.execute(query)]

    @staticmethod
    def _forget_sources(conn: sa.Connection, cutoff: datetime, now: datetime) -> None:
        """A notifier's row (the digest of the e-mail address a reporter gave) goes with the
        last of its reports: misuse is counted from stored reports, so it counted nothing any
        more, yet it was kept for ever. Trusted flaggers and a suspension in force stay."""
        s = report_sources.c
        named = sa.select(reports.c.source_id).where(reports.c.source_id.is_not(None))
        conn.execute(report_sources.delete().where(
            s.kind == "notifier", s.created_at < cutoff, s.id.not_in(named),
            sa.or_(s.suspended_until.is_(None), s.suspended_until < now)))

    def expire(self, kind: str, cutoff: datetime, now: datetime, *, dry_run: bool) -> int:
        if kind == "evidence":
            return len(self.purge_evidence(cutoff, now, dry_run=dry_run))
        kept_cases = self._evidence_kept()
        where: Any
        table: sa.Table
        if kind == "reports":
            table = reports
            where = sa.and_(
                reports.c.created_at < cutoff,
                sa.or_(reports.c.case_id.is_(None), reports.c.case_id.not_in(kept_cases)),
            )
        elif kind == "cases":
            table = cases
            where = sa.and_(cases.c.closed_at < cutoff, sa.not_(self._kept()),
                            cases.c.id.not_in(kept_cases))
        elif kind == "query_log":
            table = query_log
            where = query_log.c.ts < cutoff.timestamp()
        elif kind == "audit":
            # A case's audit trail outlives its content: it goes only once the case itself
            # is gone and the trail's newest entry (the deletion) is past the cutoff.
            table = case_audit
            a = case_audit.c
            recent = sa.select(a.case_id).where(a.case_id.is_not(None), a.at >= cutoff)
            where = sa.and_(a.at < cutoff, sa.or_(
                a.case_id.is_(None),
                sa.and_(a.case_id.not_in(sa.select(cases.c.id)), a.case_id.not_in(recent))))
        elif kind == "drafts":
            table = report_drafts
            where = report_drafts.c.updated_at < cutoff
        else:
            raise ValueError(f"unknown data kind {kind!r} (known: {', '.join(EXPIRABLE)})")
        with self._db.engine.begin() as conn:
            if dry_run:
                return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                        .where(where)).scalar_one())
            if kind == "reports":
                deleted = int(conn.execute(table.delete().where(where)).rowcount or 0)
                self._forget_sources(conn, cutoff, now)
                return deleted
            if kind == "audit":
                # the reveals counted per staff member and day (the wellbeing counter) go with
                # the trail that records each reveal; they were kept for ever
                conn.execute(staff_exposure.delete().where(
                    staff_exposure.c.day < cutoff.date()))
            if kind != "cases":
                return int(conn.execute(table.delete().where(where)).rowcount or 0)
            # the cases first, in one statement that chooses and deletes them (the children
            # after, by the ids it returns): choosing first and deleting by id after deleted
            # a case put on legal hold in between
            gone = [int(i) for i in conn.execute(
                cases.delete().where(where).returning(cases.c.id)).scalars()]
            if gone:
                for child in (case_decisions, case_appeals, case_notes, case_keys,
                              case_referrals, case_alerts, police_notifications):
                    conn.execute(child.delete().where(child.c.case_id.in_(gone)))
                # the trail records the deletion, so it is kept from now on
                conn.execute(case_audit.insert(), [
                    {"case_id": i, "at": now, "actor": "retention", "action": "case_deleted",
                     "detail": f"closed more than {(now - cutoff).days} days ago"}
                    for i in gone])
        return len(gone)
