"""Settings -> Notifications (ntfy, e-mail, webhook; what to send and when; a test that says
what happened on each channel) and the weekly summary pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError, KidshieldError
from kidshield.notifications import settings as notify
from kidshield.notifications import weekly
from kidshield.notify import Delivery
from kidshield.web import actions
from kidshield.web.access import Permission, User, require_user
from kidshield.web.context import WebContext, web_context
from kidshield.web.pages.forms import EMPTY, FormState
from kidshield.web.pages.forms import text as _s
from kidshield.web.render import render
from kidshield.web.routing import page


def _parent(request: Request) -> tuple[WebContext, User]:
    """The context and the signed-in account (the route's rule let them in)."""
    return web_context(request), require_user(request, Permission.HOUSEHOLD_READ)


def notifications_from_form(form: FormData) -> notify.Notifications:
    """The form's values as settings (checked by ``notify.check`` when saved)."""
    def number(name: str, default: int) -> int:
        value = _s(form, name)
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise InputError(f"{name}: a number", field=name) from None

    security = _s(form, "smtp_security", "starttls")
    return notify.Notifications(
        ntfy=notify.Ntfy("ntfy_enabled" in form, _s(form, "ntfy_server") or
                         notify.DEFAULT_NTFY_SERVER, _s(form, "ntfy_topic"),
                         _s(form, "ntfy_token")),
        email=notify.Email("email_enabled" in form, _s(form, "smtp_host"),
                           number("smtp_port", 587),
                           security if security in notify.SECURITY else "starttls",
                           _s(form, "smtp_username"), str(form.get("smtp_password", "")),
                           _s(form, "smtp_from"), notify.addresses(_s(form, "smtp_to"))),
        webhook=notify.Webhook("webhook_enabled" in form, _s(form, "webhook_url")),
        requests="on_requests" in form, weekly="on_weekly" in form,
        weekly_day=_s(form, "weekly_day", "sunday"), weekly_hour=number("weekly_hour", 18))


def notifications_section(ctx: WebContext, f: FormState = EMPTY,
                          results: list[Delivery] | None = None) -> dict[str, Any]:
    """What the Settings page's notification form shows."""
    current = ctx.notifier.settings()
    return {"n": current, "nf": f, "suggested_topic": current.ntfy.topic or notify.new_topic(),
            "days": notify.DAYS, "results": results, "security": notify.SECURITY,
            "server_mail": ctx.notifier.file_smtp()}


async def settings_notify(request: Request) -> Response:
    from kidshield.web.pages.dashboard import settings_response

    ctx, user = _parent(request)
    form = await request.form()  # its CSRF token was checked by the route's rule
    f = FormState.of(form)
    try:
        actions.save_notifications(ctx, user.name, notifications_from_form(form))
    except KidshieldError as exc:
        return settings_response(request, ctx, user, 422,
                                 **notifications_section(ctx, f.failed(exc)))
    if _s(form, "test"):
        results = await actions.test_notify(ctx, user.name)
        return settings_response(request, ctx, user, 200,
                                 **notifications_section(ctx, results=results))
    return RedirectResponse("/settings?m=saved#not-h", 303)


# -- weekly summaries -------------------------------------------------------------------------
def _week(request: Request, ctx: WebContext, tz: Any) -> tuple[date, date]:
    text = request.query_params.get("end", "")
    today = ctx.now().astimezone(tz).date()
    try:
        end = min(date.fromisoformat(text), today) if text else today
    except ValueError:
        raise InputError("end: a date like 2026-11-29", field="end") from None
    return weekly.week_to(end)


async def summaries_page(request: Request) -> Response:
    ctx, _user = _parent(request)
    await ctx.settle()
    now = ctx.now()
    summaries = []
    for prof in ctx.runtime.profiles.values():
        start, end = _week(request, ctx, prof.tz)
        summaries.append(ctx.notifier.summary(prof, start, end, now))
    return render(request, "summaries.html", summaries=summaries)


async def summary_page(request: Request) -> Response:
    ctx, _user = _parent(request)
    prof = actions.profile(ctx, request.path_params["pid"])
    await ctx.settle()
    start, end = _week(request, ctx, prof.tz)
    summary = ctx.notifier.summary(prof, start, end, ctx.now())
    before = start - timedelta(days=1)
    return render(request, "summary.html", s=summary,
                  previous=before if before >= weekly.EARLIEST_END else None,
                  following=end + timedelta(days=7)
                  if end + timedelta(days=1) <= ctx.now().astimezone(prof.tz).date() else None)


def notification_routes() -> list[BaseRoute]:
    read, edit = Permission.HOUSEHOLD_READ, Permission.HOUSEHOLD_EDIT
    return [
        page("/settings/notifications", settings_notify, edit, methods=("POST",)),
        page("/summary", summaries_page, read),
        page("/summary/{pid}", summary_page, read),
    ]
