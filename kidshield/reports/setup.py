"""Wiring for the composition root: build the reports service and its web site from the
configuration (``kidshield.features`` calls these; nothing else does)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kidshield.clock import Clock
from kidshield.errors import ConfigError
from kidshield.reports.lists import OwnLists
from kidshield.reports.service import ReportService

if TYPE_CHECKING:
    from kidshield.config import Config
    from kidshield.notify import SmtpSettings
    from kidshield.policy.helplines import HelplineProvider
    from kidshield.reports.web import ReportsSite
    from kidshield.storage.db import Database
    from kidshield.web.ratelimit import RateLimiter

log = logging.getLogger("kidshield.reports")


def smtp_settings(config: Config) -> SmtpSettings | None:
    """The configured SMTP server, with its password read from ``password_file``."""
    from kidshield.notify import SmtpSettings

    s = config.smtp
    if not s.host:
        return None
    password = ""
    if s.password_file:
        path = config.path(s.password_file)
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError([f"{config.source}: [smtp] password_file {path}: {exc}"]) from None
    return SmtpSettings(s.host, s.port, s.security, s.username, password, s.sender)


def build_service(
    config: Config,
    db: Database,
    clock: Clock,
    on_lists_changed: Callable[[], None] | None = None,
    *,
    serving: bool = False,
    listen_url: Callable[[], str | None] | None = None,
) -> ReportService:
    """The reports service. ``serving`` (the long-running server) also creates the evidence
    signing key on first start and pages on-call reviewers; commands use an existing key.
    ``listen_url`` (the web server's address) makes links when neither ``[reports] site_url``
    nor ``[web] public_url`` is set."""
    from kidshield.reports import sources
    from kidshield.reports.alerts import OnCallAlerter, channels_from_config
    from kidshield.reports.contactkey import load_or_create_contact_key
    from kidshield.reports.mailer import ReporterMail
    from kidshield.reports.settings import ReportSettings
    from kidshield.reports.signing import EvidenceSigner, SigningKeyError
    from kidshield.storage.reports_sql import SqlReportStore

    data = config.path(config.server.data_dir)
    lists = OwnLists.in_folder(data, config.reports.block_list, config.reports.allow_list)
    settings = ReportSettings.from_config(config, listen_url)
    key_path = data / config.reports.signing_key
    signer: EvidenceSigner | None
    if serving:
        signer = EvidenceSigner.load_or_create(key_path)
    else:
        try:
            signer = EvidenceSigner.load(key_path)
        except SigningKeyError as exc:
            log.info("%s", exc)
            signer = None
    store = SqlReportStore(db)
    contact_key = load_or_create_contact_key(data / config.reports.contact_key)
    keyed = store.key_contacts(lambda old: sources.keyed(contact_key, old))
    if keyed:
        log.info("keyed %d reporter e-mail digests stored before migration 0014", keyed)
    smtp = smtp_settings(config)
    alerter = (OnCallAlerter(store, clock, channels_from_config(config, smtp), settings.oncall,
                             settings.link) if serving else None)
    mail = ReporterMail(smtp, settings.organisation) if smtp is not None else None
    return ReportService(store, clock, lists, on_lists_changed, settings=settings,
                         signer=signer, alerter=alerter, mail=mail,
                         case_worker=case_worker(db), case_workers=case_workers(db),
                         contact_key=contact_key)


def case_worker(db: Database) -> Callable[[str], str | None]:
    """A name -> the account of that name (in its own spelling) when it may work cases."""
    from kidshield.storage.web_sql import SqlUserStore
    from kidshield.web.access import Permission, permissions_of

    users = SqlUserStore(db)

    def find(name: str) -> str | None:
        user = users.by_name(name)
        if user is None or Permission.CASES_WORK not in permissions_of(user.roles, None):
            return None
        return user.name

    return find


def case_workers(db: Database) -> Callable[[], list[str]]:
    """The names of every account that may work cases, sorted case-insensitively."""
    from kidshield.storage.web_sql import SqlUserStore
    from kidshield.web.access import Permission, permissions_of

    users = SqlUserStore(db)

    def names() -> list[str]:
        return sorted((u.name for u in users.all()
                       if Permission.CASES_WORK in permissions_of(u.roles, None)),
                      key=lambda n: (n.casefold(), n))

    return names


def build_site(service: ReportService, config: Config, limiter: RateLimiter,
               helplines: HelplineProvider | None = None) -> ReportsSite:
    """What the reports routes need: the service, the country, the IP opt-in, the server's
    rate limiter and the helplines in force."""
    from kidshield.reports.web import ReportsSite

    return ReportsSite(service, limiter, config.server.country,
                       config.reports.keep_reporter_ip, helplines,
                       config.reports.public_transparency)
