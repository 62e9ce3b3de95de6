"""Hotline work on a case: the analyst's referral assessment, escalation packages (built from
what is stored, so every export carries the same fields), the emergency path when a child's
life or safety is at risk (DSA Art. 18), legal hold, the signed evidence chain and its check,
retention that records what it purged, trusted flaggers, and the on-call sweep."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from kidshield.errors import Conflict, InputError, NotFound
from kidshield.reports import evidence as chain
from kidshield.reports.api_models import first_error
from kidshield.reports.changes import (
    KEEP,
    CaseChange,
)
from kidshield.reports.core import ServiceCore
from kidshield.reports.model import CaseState
from kidshield.reports.oncall import countdown_text
from kidshield.reports.referral import TIMES, Referral
from kidshield.reports.retention import RetentionRun, RetentionSchedule, run_retention
from kidshield.reports.signing import signed_head_dict
from kidshield.reports.sources import TRUSTED_FLAGGER, digest, new_flagger_key
from kidshield.reports.store import (
    EvidenceRecord,
    PoliceRecord,
    SourceRecord,
)

POLICE_METHODS = ("phone", "email", "portal", "in_person", "other")


class HotlineMixin(ServiceCore):
    # -- referral assessment --------------------------------------------------------------------
    def set_referral(self, case_id: int, actor: str, changes: dict[str, Any]) -> Referral:
        """Update the analyst's assessment (only the fields given); audited."""
        self._case(case_id)
        try:
            updated = self.referral(case_id).merged(changes)
        except ValidationError as exc:
            field, message = first_error(exc)
            raise InputError(f"{field}: {message}", field=field) from None
        now = self.clock.now()
        for name in TIMES:
            when = getattr(updated, name) if name in changes else None
            if when is None:
                continue
            try:  # stored in UTC: 9999-12-31T23:59-14:00 has no UTC time
                when.astimezone(UTC)
            except OverflowError:
                raise InputError(f"{name}: not a time that can be stored in UTC",
                                 field=name) from None
            if when > now:  # a package for the police must not carry a date yet to come
                raise InputError(f"{name} is in the future", field=name)
        self.store.save_referral(case_id, json.dumps(updated.as_json(), sort_keys=True),
                                 self.clock.now(), actor)
        self._audit(case_id, actor, "referral", ", ".join(sorted(changes)) or "no change")
        return updated

    # -- escalation -----------------------------------------------------------------------------
    def package(self, case_id: int, actor: str) -> dict[str, Any]:
        """The escalation package as it stands, from the stored case and assessment (viewing
        it is audited)."""
        from kidshield.reports.escalation import build_package

        view = self.view(case_id, actor)
        s = self.settings
        stored = self.store.referral(case_id)
        return build_package(
            view, self.clock.now(),
            organisation={"name": s.organisation, "country": s.country,
                          "contact": s.organisation_contact},
            chain=self.chain_state(),
            assessed=None if stored is None else (stored[1], stored[2]),
        )

    def chain_state(self) -> dict[str, Any]:
        """Record count, head and the newest signed head: in every export, so a copy taken
        later that has fewer records, or a different head, shows it."""
        records = self.store.evidence()
        head = self.store.latest_head()
        return {
            "records": len(records),
            "head": records[-1].record_hash if records else None,
            "signed_head": None if head is None else signed_head_dict(
                head.at, head.records, head.head_hash, head.key_id, head.signature),
        }

    def escalate(self, case_id: int, actor: str, authority: str = "",
                 hosting_ips: Sequence[str] = (),
                 referral: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record the referral fields given, build the package from everything stored,
        preserve it in the evidence chain, move the case to action, and return the package
        (to send to the competent authority)."""
        case = self._case(case_id)
        changes = dict(referral or {})
        if authority:
            changes["authority"] = authority
        if hosting_ips:
            changes["hosting_ips"] = list(hosting_ips)
        if changes:
            self.set_referral(case_id, actor, changes)
        if not self.referral(case_id).authority:
            raise InputError("authority: name the hotline or authority the package goes to",
                             field="authority")
        now = self.clock.now()
        acting = case.state in (CaseState.NEW.value, CaseState.TRIAGE.value)
        self.store.update_case(case_id, CaseChange(
            escalated_at=now, updated_at=now, escalation_closed_at=None,
            first_action_at=now if case.first_action_at is None else KEEP,
            state=CaseState.ACTION.value if acting else KEEP),
            if_state=case.state if acting else None)
        package = self.package(case_id, actor)
        self.preserve(case_id, "escalation", package, actor)
        self._audit(case_id, actor, "escalate", self.referral(case_id).authority)
        return package

    def close_escalation(self, case_id: int, actor: str, outcome: str) -> None:
        """The authority acknowledged or concluded the referral: from now on the case's
        evidence follows the normal retention period again."""
        case = self._case(case_id)
        if case.escalated_at is None:
            raise Conflict("this case was not escalated")
        if not outcome.strip():
            raise InputError("outcome: say what the authority did (or that it acknowledged)",
                             field="outcome")
        self.set_referral(case_id, actor, {"outcome": outcome.strip()})
        now = self.clock.now()
        self.store.update_case(case_id, CaseChange(escalation_closed_at=now, updated_at=now), [
            self._entry(case_id, actor, "escalation_closed", outcome.strip()[:200])])

    def preserved_copy(self, case_id: int, record_id: int, actor: str) -> EvidenceRecord:
        """One preserved record exactly as stored (its content is what the hash covers)."""
        found = next((e for e in self.store.evidence(case_id) if e.id == record_id), None)
        if found is None:
            raise NotFound(f"case {case_id} has no evidence record {record_id}",
                           field="record_id")
        if found.content is None:
            raise NotFound(f"evidence record {record_id} was purged by retention on "
                           f"{found.purged_at:%Y-%m-%d}; only its digests remain",
                           field="record_id")
        self._audit(case_id, actor, "evidence_download", f"record {record_id}")
        return found

    # -- the emergency path (DSA Art. 18) ------------------------------------------------------
    def emergency_sheet(self, case_id: int, actor: str) -> dict[str, Any]:
        """Who to call and what to tell them, for a case where a child may be in danger now.
        The facts come from the case; nothing is sent anywhere by kidshield itself."""
        view = self.view(case_id, actor)
        case = view.case
        e = self.settings.emergency
        items = sorted({i for r in view.reports for i in (r.url, r.account) if i})
        return {
            "call": {"who": e.police or "the police emergency line", "phone": e.phone,
                     "email": e.email, "instructions": e.instructions},
            "tell_them": {
                "case": case.id, "type": case.case_type,
                "imminent_danger": case.imminent_danger,
                "first_reported_at": min(r.created_at for r in view.reports).isoformat()
                if view.reports else case.created_at.isoformat(),
                "reported_items": items,
                "incident_at": view.referral.incident_at.isoformat()
                if view.referral.incident_at else None,
                "organisation": self.settings.organisation,
                "contact": self.settings.organisation_contact,
            },
            "countdown": countdown_text(case.target_at, self.clock.now()),
            "police_notified": [p.notified_at.isoformat() for p in view.police],
        }

    def record_police(self, case_id: int, actor: str, *, notified_at: datetime,
                      authority: str, method: str, reference: str = "",
                      summary: str = "") -> PoliceRecord:
        """Record that (and when, how, whom) the police were told; preserved as evidence."""
        case = self._case(case_id)
        if method not in POLICE_METHODS:
            raise InputError(f"method: one of {', '.join(POLICE_METHODS)}", field="method")
        if not authority.strip():
            raise InputError("authority: which police service or unit was told",
                             field="authority")
        if notified_at.tzinfo is None:
            raise InputError("notified_at: give the time with its UTC offset",
                             field="notified_at")
        try:  # stored in UTC: 0001-01-01T00:00+14:00 has no UTC time
            notified_at.astimezone(UTC)
        except OverflowError:
            raise InputError("notified_at: not a time that can be stored in UTC",
                             field="notified_at") from None
        now = self.clock.now()
        if notified_at > now:
            raise InputError("notified_at is in the future", field="notified_at")
        record = self.store.add_police(PoliceRecord(
            case_id, now, actor, notified_at, authority.strip()[:500], method,
            reference.strip()[:200], summary.strip()[:4000]))
        earlier = case.police_notified_at is None or notified_at < case.police_notified_at
        self.store.update_case(case_id, CaseChange(
            updated_at=now, police_notified_at=notified_at if earlier else KEEP,
            first_action_at=notified_at if case.first_action_at is None else KEEP))
        self.preserve(case_id, "police_notification", {
            "notified_at": notified_at.isoformat(), "authority": record.authority,
            "method": method, "reference": record.reference, "summary": record.summary,
            "recorded_by": actor}, actor)
        self._audit(case_id, actor, "police_notified",
                    f"{method} to {record.authority} at {notified_at:%Y-%m-%d %H:%M} UTC")
        return record

    # -- legal hold, chain, retention ---------------------------------------------------------
    def set_legal_hold(self, case_id: int, on: bool, actor: str) -> None:
        self._case(case_id)
        self.store.update_case(case_id, CaseChange(legal_hold=on, updated_at=self.clock.now()), [
            self._entry(case_id, actor, "legal_hold", "on" if on else "off")])

    def verify_chain(self, public: Ed25519PublicKey | None = None) -> chain.ChainReport:
        """Check links, contents, purges, the audit trail's records and the signed head (with
        ``public``, else with this server's own key when it has one)."""
        key = public or (self.signer.public if self.signer is not None else None)
        return chain.verify(self.store.evidence(), head=self.store.latest_head(), public=key,
                            held_cases=self.store.held_case_ids(),
                            audited_ids=self.store.audited_evidence_ids())

    def run_retention(self, schedule: RetentionSchedule, *, dry_run: bool = False
                      ) -> RetentionRun:
        """The retention job; purged evidence is named in a ``retention_purge`` record."""
        def record_purge(ids: list[int]) -> None:
            # case_id 0: the record belongs to the chain, not to one case
            self.preserve(0, chain.PURGE_KIND, {"purged": ids}, "retention")

        return run_retention(self.store, schedule, self.clock.now(), dry_run=dry_run,
                             on_purged=record_purge)

    # -- trusted flaggers -----------------------------------------------------------------------
    def add_trusted_flagger(self, name: str, actor: str) -> tuple[SourceRecord, str]:
        """Register a trusted flagger; returns it and its key (shown once, kept as a digest)."""
        if not name.strip():
            raise InputError("name: the trusted flagger's name", field="name")
        key = new_flagger_key()
        source = self.store.add_source(SourceRecord(self.clock.now(), TRUSTED_FLAGGER,
                                                    name.strip()[:128], key_sha256=digest(key)))
        self._audit(None, actor, "trusted_flagger_added", f"source {source.id}: {name}")
        return source, key

    # -- on-call --------------------------------------------------------------------------------
    def alert_sweep(self) -> int:
        """Page about critical cases that are due (the server runs this every minute)."""
        return 0 if self.alerter is None else self.alerter.sweep()
