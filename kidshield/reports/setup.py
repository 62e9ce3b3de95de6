"""Wiring for the composition root: build the reports service from the configuration and
attach it to a web app (``app.py`` / ``web/server.py`` call these; nothing else does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kidshield.clock import Clock
from kidshield.reports.lists import OwnLists
from kidshield.reports.ratelimit import RateLimiter
from kidshield.reports.service import ReportService

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from kidshield.config import Config
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


def attach(app: Starlette, service: ReportService, config: Config) -> None:
    """Put what ``kidshield.reports.web.routes()`` needs on ``app.state``."""
    app.state.reports = service
    app.state.reports_country = config.server.country
    app.state.reports_keep_ip = config.reports.keep_reporter_ip
    app.state.reports_rate_limiter = RateLimiter()
