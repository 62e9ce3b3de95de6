"""The child page, "My protection" (COP-11, COP-12): at http://kidshield.home.arpa/ (the DNS
answers that name with our address) and at ``/me`` on the dashboard's address. It says, in the
child's words, what is filtered and logged, who sees it, how long it is kept, how to ask for a
change, and that it all ends at 18; it lists recent blocks with a button to ask, the answers to
earlier requests, and the helplines. Pausing protection here needs a parent's PIN."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError
from kidshield.policy.ages import AgeBand
from kidshield.policy.model import Profile, ScheduleRule
from kidshield.web import actions
from kidshield.web.access import Permission
from kidshield.web.blockpage import (
    CHILD_HOST,
    RECENT,
    ask,
    child_errors,
    child_profile,
    helplines,
)
from kidshield.web.context import WebContext, client_ip, web_context
from kidshield.web.errors import status_of
from kidshield.web.queries import recent_blocks
from kidshield.web.render import render
from kidshield.web.routing import page
from kidshield.web.texts import QUESTION_TOO_LONG


def provided_categories(ctx: WebContext) -> frozenset[str]:
    from kidshield.lists.loader import REPORTED_CATEGORY
    from kidshield.policy.model import ALLOW_CATEGORY

    return (frozenset(ctx.runtime.engine.lists.categories) - {ALLOW_CATEGORY}) | {
        REPORTED_CATEGORY}


async def me(request: Request) -> Response:
    ctx = web_context(request)
    profile = child_profile(ctx, request)
    now = ctx.now()
    band = profile.band_at(now)
    settings = ctx.runtime.engine.settings(profile, band)
    blocks = recent_blocks(ctx.db, profile.id, now - RECENT)
    requests = ctx.state.requests(profile=profile.id, since=now - RECENT * 7, limit=20)
    paused = ctx.state.paused_until(profile.id)
    internet = ctx.state.internet_paused_until(profile.id)
    cfg = ctx.config.logging
    age = profile.age_at(now)
    return render(
        request, "child/me.html", profile=profile, band=band, young=band in (
            AgeBand.UNDER_9, AgeBand.AGE_9_12), settings=settings,
        # only what a list really blocks: the page never promises a block that does not exist
        categories=sorted(settings.categories & provided_categories(ctx)),
        bedtimes=[r for r in settings.schedules],
        # the rest of what is switched off or limited, as the engine applies it (the family
        # walk, session 16: the page listed bedtime only)
        **limits(ctx, profile, settings.services, settings.schedules),
        blocks=blocks, requests=requests, helplines=helplines(ctx, profile),
        retention_days=cfg.retention_days, only_blocked=cfg.only_blocked,
        anonymize=cfg.anonymize_clients, years_left=None if age is None else max(18 - age, 0),
        paused=paused if paused and paused > now else None, child_host=CHILD_HOST,
        internet=internet if internet and internet > now else None,
        message=request.query_params.get("m", ""), filtering=profile.filtering,
        by_name=not shared_profile(ctx, profile))


def limits(ctx: WebContext, profile: Profile, blocked: frozenset[str],
           rules: tuple[ScheduleRule, ...]) -> dict[str, Any]:
    """The page's lists of services switched off, daily time budgets and schedules other
    than bedtime, services by their names in the catalog."""
    known = ctx.runtime.catalog.services

    def named(ids: Iterable[str]) -> list[str]:
        return sorted((known[i].name if i in known else i for i in ids), key=str.lower)

    return {
        "services_off": named(s for s in blocked if s in known),
        # a budget of a service that is off anyway limits nothing the child sees
        "budgets": [(known[s].name, m) for s, m in sorted(profile.budgets.items())
                    if s in known and s not in blocked],
        "schedules": [(r, named(r.services), sorted(r.categories))
                      for r in rules if not r.bedtime],
    }


def shared_profile(ctx: WebContext, profile: Profile) -> bool:
    """Whether several people use ``profile``: "Hi Family devices!" is no greeting. The
    profile says so (``shared = true``); the adult defaults of devices no profile names
    ("Everyone else") are shared by everyone."""
    runtime = ctx.runtime  # the configuration ``profile`` was compiled from
    if profile is runtime.fallback:
        return True
    found = runtime.config.profiles.get(profile.id)
    return found is not None and found.shared


async def me_pause(request: Request) -> Response:
    """A parent, standing beside the child, pauses protection with their PIN."""
    ctx = web_context(request)
    form = await request.form()  # the route's rule checked its CSRF token
    profile = child_profile(ctx, request)
    try:
        pin = str(form.get("pin", ""))
        parent = await run_in_threadpool(actions.check_pin, ctx, pin, client_ip(request))
        minutes = int(str(form.get("minutes", "30")) or 0)
        actions.pause(ctx, f"{parent} (PIN on child page)", profile.id, minutes)
    except (actions.Refused, InputError, ValueError) as exc:
        return _pin_error(request, ctx, profile, exc)
    return RedirectResponse("/me?m=paused", 303)


async def me_allow(request: Request) -> Response:
    """A parent, beside the child, allows a site for a while with their PIN."""
    ctx = web_context(request)
    form = await request.form()  # the route's rule checked its CSRF token
    profile = child_profile(ctx, request)
    try:
        pin = str(form.get("pin", ""))
        parent = await run_in_threadpool(actions.check_pin, ctx, pin, client_ip(request))
        actions.allow_now(ctx, f"{parent} (PIN on child page)", profile,
                          str(form.get("name", "")), str(form.get("decision", "30min")))
    except (actions.Refused, InputError) as exc:
        return _pin_error(request, ctx, profile, exc)
    return RedirectResponse("/me?m=allowed", 303)


def _pin_error(request: Request, ctx: WebContext, profile: Profile, exc: Exception) -> Response:
    """The PIN page again, saying what was wrong (a refusal carries its own status)."""
    status = status_of(exc)
    return render(request, "child/pin_error.html", status, error=str(exc),
                  helplines=helplines(ctx, profile), profile=profile, child_host=CHILD_HOST)


def child_routes() -> list[BaseRoute]:
    """The child's own page: no account (the device's address says whose it is); pausing and
    allowing need a parent's PIN."""
    anyone, post, small = Permission.PUBLIC, ("POST",), 8 * 1024
    # every error a child meets here is a page for the child (blockpage.child_errors)
    child = child_errors()
    return [
        page("/me", me, anyone, child_error=child),
        page("/me/ask", ask, anyone, methods=post, max_body=small,
             child_error=child_errors(QUESTION_TOO_LONG)),
        page("/me/pause", me_pause, anyone, methods=post, max_body=small, child_error=child),
        page("/me/allow", me_allow, anyone, methods=post, max_body=small, child_error=child),
    ]
