"""On-call alerting: critical cases page the on-call reviewers at once through every
configured channel (ntfy, e-mail, webhook), and again while nobody has taken them (the sweep,
run every minute by the server). Sending happens on a small thread pool so a report is never
slowed down by a mail server; each attempt is recorded per channel and in the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from kidshield.clock import Clock
from kidshield.notify import Channel, EmailChannel, NtfyChannel, SmtpSettings, WebhookChannel
from kidshield.notify import deliver as deliver_all
from kidshield.reports.oncall import OnCallPolicy, alert_due, alert_message
from kidshield.reports.store import (
    AlertRecord,
    AuditRecord,
    CaseRecord,
    ReportStore,
)

if TYPE_CHECKING:
    from kidshield.config import Config

log = logging.getLogger("kidshield.reports.alerts")


def channels_from_config(config: Config, smtp: SmtpSettings | None) -> list[Channel]:
    oc = config.reports.on_call
    found: list[Channel] = [NtfyChannel(url) for url in oc.ntfy]
    found += [WebhookChannel(url) for url in oc.webhooks]
    if oc.emails and (smtp is None or not smtp.configured):
        log.warning("[reports.on_call] emails are set but [smtp] is not: on-call e-mail "
                    "alerts cannot be sent")
    elif smtp is not None:
        found += [EmailChannel(smtp, to) for to in oc.emails]
    return found


class OnCallAlerter:
    def __init__(self, store: ReportStore, clock: Clock, channels: Sequence[Channel],
                 policy: OnCallPolicy, link: Callable[[str], str]) -> None:
        self.store = store
        self.clock = clock
        self.channels = list(channels)
        self.policy = policy
        self.link = link
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="oncall")

    def alert(self, case: CaseRecord, reason: str) -> Future[None] | None:
        """Page everyone about ``case`` now (in the background); the case is marked alerted
        at once so the sweep does not page twice. None: another server alerted about it
        since ``case`` was read (its alert count moved), and pages instead of this one."""
        assert case.id is not None
        now = self.clock.now()
        number = self.store.claim_alert(case.id, case.alerts, now)
        if number is None:
            return None
        return self._pool.submit(self._send, case, reason, now, number)

    def _send(self, case: CaseRecord, reason: str, at: datetime, number: int) -> None:
        assert case.id is not None
        message = alert_message(case, reason, at, self.link(f"/cases/{case.id}"))
        if not self.channels:
            log.warning("case %s needs the on-call reviewers but no channel is configured "
                        "([reports.on_call] ntfy, emails or webhooks)", case.id)
        try:
            results = deliver_all(self.channels, message, parallel=True)
        except Exception:  # an alert must never take the server down
            log.exception("on-call alert for case %s failed", case.id)
            return
        for r in results:
            self.store.add_alert(AlertRecord(case.id, at, reason, r.kind, r.target, r.ok,
                                             r.error, number))
        sent = sum(1 for r in results if r.ok)
        self.store.audit(AuditRecord(case.id, at, "on-call", "alert",
                                     f"{reason}: {sent} of {len(results)} channels"))

    def sweep(self) -> int:
        """Alert about every open critical case that is due (never alerted, unassigned past
        the re-alert interval, or past its target). Returns how many were alerted."""
        now = self.clock.now()
        count = 0
        for case in self.store.critical_open_cases():
            reason = alert_due(case, now, self.policy)
            if reason is not None and self.alert(case, reason) is not None:
                count += 1
        return count

    def close(self) -> None:
        self._pool.shutdown(wait=True)
