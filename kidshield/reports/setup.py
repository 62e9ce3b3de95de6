"""Wiring for the composition root: build the reports service and its web site from the
configuration (``kidshield.features`` calls these; nothing else does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kidshield.clock import Clock
from kidshield.reports.lists import OwnLists
from kidshield.reports.service import ReportService

if TYPE_CHECKING:
    from kidshield.config import Config
    from kidshield.policy.helplines import HelplineProvider
    from kidshield.reports.web import ReportsSite
    from kidshield.storage.db import Database


def build_service(
    config: Config,
    db: Database,
    clock: Clock,
    on_lists_changed: Callable[[], None] | None = None,
) -> ReportService:
    from kidshield.storage.reports_sql import SqlReportStore

    lists = OwnLists.in_folder(
        config.path(config.server.data_dir), config.reports.block_list, config.reports.allow_list
    )
    return ReportService(SqlReportStore(db), clock, lists, on_lists_changed)


def build_site(service: ReportService, config: Config,
               helplines: HelplineProvider | None = None) -> ReportsSite:
    """What the reports routes need: the service, the country, the IP opt-in, a limiter and
    the helplines in force."""
    from kidshield.reports.ratelimit import RateLimiter
    from kidshield.reports.web import ReportsSite

    return ReportsSite(service, config.server.country, config.reports.keep_reporter_ip,
                       RateLimiter(), helplines)
