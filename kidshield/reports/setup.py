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
    find_worker, workers = case_workers(db)
    return ReportService(store, clock, lists, on_lists_changed, settings=settings,
                         signer=signer, alerter=alerter, mail=mail,
                         case_worker=find_worker, case_workers=workers,
                         contact_key=contact_key)


def case_workers(db: Database) -> tuple[Callable[[str], str | None], Callable[[], list[str]]]:
    """Who may work cases, from the accounts: a name -> that account in its own spelling (or
    None), and every such account's name, sorted case-insensitively (the case page's
    choices)."""
    from kidshield.storage.web_sql import SqlUserStore
    from kidshield.web.access import Permission, permissions_of

    users = SqlUserStore(db)

    def works(roles: frozenset[str]) -> bool:
        return Permission.CASES_WORK in permissions_of(roles, None)

    def find(name: str) -> str | None:
        user = users.by_name(name)
        return user.name if user is not None and works(user.roles) else None

    def names() -> list[str]:
        return sorted((u.name for u in users.all() if works(u.roles)),
                      key=lambda n: (n.casefold(), n))

    return find, names


def build_site(service: ReportService, config: Config, limiter: RateLimiter,
               helplines: HelplineProvider | None = None) -> ReportsSite:
    """What the reports routes need: the service, the country, the IP opt-in, the server's
    rate limiter and the helplines in force."""
    from kidshield.reports.web import ReportsSite

    return ReportsSite(service, limiter, config.server.country,
                       config.reports.keep_reporter_ip, helplines,
                       config.reports.public_transparency)
