"""What every part of the reports service shares: the store, the clock, the settings and the
collaborators it was given, the audit trail, the case view, evidence preservation, and
kidshield's own block and allow lists. ``service.ReportService`` is built on this."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from kidshield.clock import Clock
from kidshield.errors import Conflict
from kidshield.reports import evidence as chain
from kidshield.reports import lists as own_lists
from kidshield.reports.alerts import OnCallAlerter
from kidshield.reports.lists import OwnLists
from kidshield.reports.mailer import ReporterMail
from kidshield.reports.model import DecisionAction, domain_of
from kidshield.reports.records import CaseNotFound, CaseView, MergedCase
from kidshield.reports.referral import Referral
from kidshield.reports.settings import ReportSettings
from kidshield.reports.signing import EvidenceSigner
from kidshield.reports.store import (
    AuditRecord,
    CaseRecord,
    DecisionRecord,
    EvidenceRecord,
    ReportStore,
)

PROCESS_CONTACT_KEY = secrets.token_bytes(32)


class ServiceCore:
    def __init__(
        self,
        store: ReportStore,
        clock: Clock,
        lists: OwnLists | None = None,
        on_lists_changed: Callable[[], None] | None = None,
        *,
        settings: ReportSettings | None = None,
        signer: EvidenceSigner | None = None,
        alerter: OnCallAlerter | None = None,
        mail: ReporterMail | None = None,
        case_worker: Callable[[str], str | None] | None = None,
        case_workers: Callable[[], list[str]] | None = None,
        contact_key: bytes | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lists = lists
        self.on_lists_changed = on_lists_changed
        self.settings = settings or ReportSettings()
        self.signer = signer  # None: the chain is linked but its head is not signed
        self.alerter = alerter
        self.mail = mail
        # a name -> the account of that name that may work cases (its own spelling), or None;
        # None here: the service alone, without accounts, takes any name
        self.case_worker = case_worker
        # every account that may work cases, for the case page's choices (None: a free name)
        self.case_workers = case_workers
        # keys reporters' e-mail digests; None (the service alone, without a data folder): a
        # key of this process only, never the unkeyed digest
        self.contact_key = contact_key if contact_key is not None else PROCESS_CONTACT_KEY

    # -- audit and lookups ----------------------------------------------------------------------
    def _audit(self, case_id: int | None, actor: str, action: str, detail: str = "") -> None:
        self.store.audit(self._entry(case_id, actor, action, detail))

    def _entry(self, case_id: int | None, actor: str, action: str,
               detail: str = "") -> AuditRecord:
        """An audit entry to write with the change it records (one transaction)."""
        return AuditRecord(case_id, self.clock.now(), actor, action, detail)

    def _read_case(self, case_id: int) -> CaseRecord:
        case = self.store.case(case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return case

    def _case(self, case_id: int) -> CaseRecord:
        """A case to change: one merged into another answers nothing but being read."""
        case = self._read_case(case_id)
        if case.merged_into is not None:
            raise MergedCase(case_id, case.merged_into)
        return case

    def _final_decisions(self, case_id: int) -> list[DecisionRecord]:
        return [d for d in self.store.decisions(case_id) if d.status == "final"]

    def referral(self, case_id: int) -> Referral:
        stored = self.store.referral(case_id)
        return Referral() if stored is None else Referral.model_validate(json.loads(stored[0]))

    def view(self, case_id: int, actor: str) -> CaseView:
        case = self._read_case(case_id)
        self._audit(case_id, actor, "view")
        return CaseView(
            case=case,
            reports=self.store.reports_for_case(case_id),
            decisions=self.store.decisions(case_id),
            notes=self.store.notes(case_id),
            appeal=self.store.open_appeal(case_id),
            evidence=self.store.evidence(case_id),
            audit=self.store.audit_trail(case_id),
            referral=self.referral(case_id),
            alerts=self.store.alerts(case_id),
            police=self.store.police(case_id),
        )

    # -- evidence -------------------------------------------------------------------------------
    def preserve(self, case_id: int, kind: str, content: dict[str, Any],
                 actor: str) -> EvidenceRecord:
        """Append ``content`` to the evidence chain (and sign the new head)."""
        text = chain.canonical_json(content)
        digest = chain.sha256_hex(text)
        at = self.clock.now()
        record = self.store.append_evidence(
            case_id, at, kind, text, digest,
            lambda prev: chain.link_hash(prev, case_id, at, kind, digest),
            self.signer.seal if self.signer is not None else None,
        )
        self._audit(case_id, actor, "evidence", f"{kind} record {record.id}")
        return record

    # -- kidshield's own lists ------------------------------------------------------------------
    def _list_for(self, action: DecisionAction) -> tuple[str, Any] | None:
        if self.lists is None:
            return None
        if action is DecisionAction.BLOCK_LISTED:
            return "block", self.lists.block_list
        if action is DecisionAction.ALLOW_LISTED:
            return "allow", self.lists.allow_list
        return None

    def _check_list_action(self, case: CaseRecord, action: DecisionAction) -> None:
        if action not in (DecisionAction.BLOCK_LISTED, DecisionAction.ALLOW_LISTED):
            return
        if self._list_for(action) is None:
            raise Conflict("this server has no reports block/allow list configured",
                           field="action")
        if not case.url:
            raise Conflict("the case has no web address, so there is no site to list",
                           field="action")

    def _apply_to_lists(self, case: CaseRecord, action: DecisionAction, actor: str,
                        undo: list[Callable[[], object]]) -> list[AuditRecord]:
        """Add the case's domain to our block or allow list: the audit entry to store with
        the decision when the list changed, and in ``undo`` the step that takes it back."""
        self._check_list_action(case, action)
        target = self._list_for(action)
        if target is None or not case.url:
            return []
        kind, path = target
        domain = domain_of(case.url)
        if not own_lists.add_domain(path, domain, kind):
            return []
        undo.append(lambda: own_lists.remove_domain(path, domain, kind))
        return [self._entry(case.id, actor, f"{kind}_list_add", f"{domain} -> {path.name}")]

    def _undo_list_action(self, case: CaseRecord, action: DecisionAction, actor: str,
                          undo: list[Callable[[], object]]) -> list[AuditRecord]:
        """Take the case's domain off the list an earlier decision put it on (as
        ``_apply_to_lists``)."""
        target = self._list_for(action)
        if target is None or not case.url:
            return []
        kind, path = target
        domain = domain_of(case.url)
        if not own_lists.remove_domain(path, domain, kind):
            return []
        undo.append(lambda: own_lists.add_domain(path, domain, kind))
        return [self._entry(case.id, actor, f"{kind}_list_remove", f"{domain} <- {path.name}")]
