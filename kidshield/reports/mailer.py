"""E-mails to people who report: a receipt when a notice arrives (DSA Art. 16(4)), the
decision with its statement of reasons (Art. 16(5), 17), and a warning or suspension notice
for misuse (Art. 23). Only when they gave an e-mail address and an SMTP server is configured;
sent in the background, failures logged and audited, never shown to the reporter."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from kidshield.notify import EmailChannel, Message, SmtpSettings
from kidshield.notify.channels import DeliveryError
from kidshield.reports.model import Statement
from kidshield.reports.sources import email_of

log = logging.getLogger("kidshield.reports.mail")


class ReporterMail:
    def __init__(self, smtp: SmtpSettings, organisation: str = "") -> None:
        self.smtp = smtp
        self.organisation = organisation or "kidshield"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reporter-mail")

    def _send(self, to: str, title: str, body: str, link: str) -> None:
        def job() -> None:
            try:
                EmailChannel(self.smtp, to).send(Message(title, body, link))
            except DeliveryError as exc:
                log.warning("%s", exc)

        self._pool.submit(job)

    def receipt(self, contact: str | None, code: str, link: str, held_until: datetime | None
                ) -> bool:
        to = email_of(contact)
        if to is None:
            return False
        body = (f"Thank you. We received your report. Your receipt code is {code}.\n"
                "Keep it: it is the only way to see what happens to your report and to "
                "appeal the decision.\n")
        if held_until is not None:
            body += (f"\nNotices from this address are suspended until {held_until:%Y-%m-%d} "
                     "because several earlier ones were manifestly unfounded. Your report is "
                     "kept but will not be processed before then.\n")
        self._send(to, f"{self.organisation}: report received ({code})", body, link)
        return True

    def decision(self, contact: str | None, code: str, statement: Statement,
                 link: str) -> bool:
        to = email_of(contact)
        if to is None:
            return False
        body = (f"We have decided on your report {code}.\n\n"
                f"What we found: {statement['facts']}\n"
                f"Why: {statement['ground_text']}\n"
                f"What we did: {statement['action_text']}\n\n"
                f"{statement['how_to_appeal']}\n")
        self._send(to, f"{self.organisation}: decision on your report ({code})", body, link)
        return True

    def misuse(self, contact: str | None, status: str, until: datetime | None) -> bool:
        to = email_of(contact)
        if to is None:
            return False
        if status == "suspended" and until is not None:
            body = ("Several reports from this address were manifestly unfounded. We will "
                    f"not process reports from it until {until:%Y-%m-%d} (DSA Art. 23). "
                    "If you think this is wrong, reply to this message.\n")
        else:
            body = ("Several reports from this address were manifestly unfounded. Please "
                    "report only what you believe in good faith breaks the law or our rules; "
                    "if this goes on, we will stop processing your reports for a while.\n")
        self._send(to, f"{self.organisation}: about your reports", body, "")
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=True)
