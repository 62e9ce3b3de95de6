"""What the reports service takes from the configuration, in one plain object (tests build it
directly; ``from_config`` reads the file's settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from kidshield.reports.model import APPEAL_WINDOW_DAYS
from kidshield.reports.oncall import OnCallPolicy
from kidshield.reports.sources import MisusePolicy

if TYPE_CHECKING:
    from kidshield.config import Config

@dataclass(frozen=True, slots=True)
class Emergency:
    police: str = ""
    phone: str = ""
    email: str = ""
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class ReportSettings:
    appeal_window: timedelta = timedelta(days=APPEAL_WINDOW_DAYS)
    organisation: str = ""
    organisation_contact: str = ""
    country: str = ""
    site_url: str = ""  # links in alerts and e-mails; never taken from a request
    territorial_scope: tuple[str, ...] = ()
    terms_url: str = ""
    oncall: OnCallPolicy = field(default_factory=OnCallPolicy)
    misuse: MisusePolicy = field(default_factory=MisusePolicy)
    emergency: Emergency = field(default_factory=Emergency)
    # where the web server listens, asked when a link is made: it is only known once the
    # server has bound its port (port 0 in tests), after this object is built
    listen_url: Callable[[], str | None] | None = field(default=None, compare=False)

    def link(self, path: str) -> str:
        base = self.site_url or (self.listen_url() if self.listen_url is not None else None)
        return f"{base.rstrip('/')}{path}" if base else path

    @property
    def scope(self) -> tuple[str, ...]:
        """Where decisions apply: as configured, else the server's country if in the EEA."""
        from kidshield.config import EEA_COUNTRIES

        if self.territorial_scope:
            return self.territorial_scope
        return (self.country,) if self.country in EEA_COUNTRIES else ()

    @classmethod
    def from_config(cls, config: Config,
                    listen_url: Callable[[], str | None] | None = None) -> ReportSettings:
        r = config.reports
        return cls(
            appeal_window=timedelta(days=r.appeal_window_days),
            organisation=r.organisation,
            organisation_contact=r.organisation_contact,
            country=config.server.country,
            # the dashboard's public address unless reports have one of their own
            site_url=r.site_url or config.web.public_url or "",
            territorial_scope=tuple(r.territorial_scope),
            terms_url=r.terms_url,
            oncall=OnCallPolicy(
                imminent_target=timedelta(minutes=r.on_call.imminent_target_minutes),
                abuse_target=timedelta(hours=r.on_call.abuse_target_hours),
                realert_every=timedelta(minutes=r.on_call.realert_minutes),
            ),
            misuse=MisusePolicy(r.misuse_warn_after, r.misuse_suspend_after,
                                timedelta(days=r.misuse_window_days),
                                timedelta(days=r.misuse_suspend_days)),
            emergency=Emergency(r.emergency.police, r.emergency.phone, r.emergency.email,
                                r.emergency.instructions),
            listen_url=listen_url,
        )
