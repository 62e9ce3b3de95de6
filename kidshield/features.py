"""The features served beside the parents' dashboard, in one explicit list.

``FEATURES`` names them in start-up order: reports first, because the others file cases in its
queue (a high-risk message, a hash-bank match). Each is built by the function of the same name
below from what the composition root hands it (``FeatureEnv``); the imports happen there, so
``kidshield serve --no-web`` and the command line never load them. A feature that cannot be
imported or built stops the start with a ``FeatureError`` naming it: a server that silently
runs without its report intake would be worse than one that does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kidshield.clock import Clock
from kidshield.config import Config
from kidshield.errors import KidshieldError
from kidshield.storage.db import Database

if TYPE_CHECKING:
    from kidshield.education.web import EducationSite
    from kidshield.policy.helplines import HelplineProvider
    from kidshield.reports.service import ReportService
    from kidshield.safety.media.banks import BankService
    from kidshield.web.feature import WebFeature
    from kidshield.web.ratelimit import RateLimiter

log = logging.getLogger("kidshield.features")

FEATURES: tuple[str, ...] = ("reports", "education", "assess", "media")


class FeatureError(KidshieldError):
    """A feature could not be loaded: the server does not start without it."""


@dataclass
class FeatureEnv:
    """What a feature may use; built by the composition root."""

    config: Config
    db: Database
    clock: Clock
    profile_for: Callable[[str], str | None]  # device address -> profile id
    lists_changed: Callable[[], None]  # the reports lists changed (any thread may call it)
    helplines: HelplineProvider  # the helplines in force now (reloads included)
    secret: bytes  # the web app's secret key: CSRF tokens of the features' own forms
    limiter: RateLimiter  # the server's one rate limiter (public report routes use it)
    # where the web server listens (None before it does): links when no public address is set
    listen_url: Callable[[], str | None] = lambda: None


@dataclass
class Features:
    """The built features: their services (for the features that use each other, and for
    tests) and what the web app mounts."""

    web: list[WebFeature] = field(default_factory=list)
    reports: ReportService | None = None
    media: BankService | None = None
    education: EducationSite | None = None


def build_features(env: FeatureEnv, names: tuple[str, ...] = FEATURES) -> Features:
    built = Features()
    builders: dict[str, Callable[[FeatureEnv, Features], WebFeature]] = {
        "reports": reports, "education": education, "assess": assess, "media": media,
    }
    for name in names:
        try:
            built.web.append(builders[name](env, built))
        except ImportError as exc:
            raise FeatureError(
                f"the {name} feature cannot be loaded ({exc}); kidshield does not start without "
                f"it. Reinstall kidshield with its dependencies (pip install kidshield)."
            ) from exc
    return built


def reports(env: FeatureEnv, built: Features) -> WebFeature:
    import kidshield.reports.public_api as public_api
    import kidshield.reports.staff as staff
    import kidshield.reports.web as web
    from kidshield.reports.retention import RetentionSchedule, retention_loop
    from kidshield.reports.setup import build_service, build_site
    from kidshield.web.feature import WebFeature

    service = built.reports = build_service(env.config, env.db, env.clock, env.lists_changed,
                                            serving=True, listen_url=env.listen_url)
    schedule = RetentionSchedule.from_config(env.config)

    async def retention(stopped: asyncio.Event) -> None:
        await retention_loop(lambda: service.run_retention(schedule), env.clock, stopped)

    async def on_call(stopped: asyncio.Event) -> None:
        """Critical cases nobody has taken are paged again every minute (and an alert lost
        in a restart is sent)."""
        while not stopped.is_set():
            try:
                await asyncio.to_thread(service.alert_sweep)
            except Exception:
                log.exception("on-call alert sweep failed; retrying in a minute")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), timeout=60)

    site = build_site(service, env.config, env.limiter, env.helplines)
    return WebFeature("reports", web.routes(site), [retention, on_call],
                      [public_api.api, staff.api])


def education(env: FeatureEnv, built: Features) -> WebFeature:
    from kidshield.education.progress import ProgressStore
    from kidshield.education.web import EducationSite, routes
    from kidshield.web.feature import WebFeature

    site = built.education = EducationSite(
        progress=ProgressStore(env.db), profile_for=env.profile_for,
        country=env.config.server.country, clock=env.clock.now, helplines=env.helplines)
    return WebFeature("education", routes(site))


def assess(env: FeatureEnv, built: Features) -> WebFeature:
    import kidshield.web.api.assess as assess_api
    from kidshield.web.feature import WebFeature

    cases = built.reports

    def open_case(result: Any, conversation_id: str | None) -> None:
        # a high-risk message or conversation lands in the moderators' queue; the case keeps
        # findings and scores, never the message text (it was not sent to us to keep)
        from kidshield.reports.intake import case_from_text_assessment

        if cases is not None:
            # without the platform's id each call is a conversation of its own: a random key
            # (an object's id() is reused once it is freed, and joined unrelated calls' cases)
            own = conversation_id or f"api-{secrets.token_hex(8)}"
            case_from_text_assessment(cases, result, conversation=own)

    site = assess_api.AssessSite(on_high_risk=open_case, helplines=env.helplines)
    return WebFeature("assess", assess_api.routes(site),
                      api=[assess_api.api])


def media(env: FeatureEnv, built: Features) -> WebFeature:
    import kidshield.web.api.media as media_api
    from kidshield.safety.media.banks import BankService
    from kidshield.storage.media_sql import SqlMediaBankStore
    from kidshield.web.feature import Job, WebFeature

    banks = built.media = BankService(SqlMediaBankStore(env.db), env.clock, preload=False)
    cases = built.reports
    jobs: list[Job] = []
    if cases is not None:
        from kidshield.reports.intake import import_new_media_matches

        async def matches_to_cases(stopped: asyncio.Event) -> None:
            """Hash-bank matches become cases every minute (the same queue as reports)."""
            while not stopped.is_set():
                try:
                    await asyncio.to_thread(import_new_media_matches, cases, env.config)
                except Exception:
                    log.exception("turning hash matches into cases failed; retrying in a "
                                  "minute")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), timeout=60)

        jobs.append(matches_to_cases)
    limits = env.config.media
    site = media_api.MediaSite(banks, max_upload_bytes=limits.max_upload_mb << 20,
                               max_pixels=limits.max_pixels, max_decodes=limits.max_decodes)
    return WebFeature("media", media_api.routes(site),
                      jobs, [media_api.api])
