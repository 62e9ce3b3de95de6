"""Dashboard routes: setup, sign-in, overview, profiles, devices, lists, query log, requests,
pause, settings, audit log, and a block page preview per age band."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import Conflict, InputError
from kidshield.policy.ages import AgeBand
from kidshield.policy.reason import Action, Decision, Reason
from kidshield.web import actions, views
from kidshield.web.access import ROLES, SCOPE_TEXT, Permission, User, current_user
from kidshield.web.auth import SESSION_COOKIE, digest
from kidshield.web.blockpage import CHILD_HOST, block_response, request_host
from kidshield.web.charts import hbars, hourly_bars
from kidshield.web.childpage import me
from kidshield.web.context import WebContext, web_context
from kidshield.web.pages.encrypted_dns import encrypted_dns_routes
from kidshield.web.pages.forms import lines as _lines
from kidshield.web.pages.forms import text as _s
from kidshield.web.pages.lists import list_routes
from kidshield.web.pages.notifications import notification_routes
from kidshield.web.pages.profile_editor import profile_editor_routes
from kidshield.web.pages.querylog import querylog_routes
from kidshield.web.pages.session import session_routes
from kidshield.web.pages.wizard import wizard_routes
from kidshield.web.pause import pause_routes
from kidshield.web.queries import LogFilter, overview, search_log
from kidshield.web.reasons import FIXED_REASONS, explain
from kidshield.web.render import render, translator_for
from kidshield.web.routing import page
from kidshield.web.texts import BODIES


def _parent(request: Request) -> tuple[WebContext, User]:
    """The context and the signed-in account (the route's rule let them in)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    return web_context(request), user


async def _form(request: Request) -> tuple[WebContext, User, FormData]:
    ctx, user = _parent(request)
    return ctx, user, await request.form()  # its CSRF token was checked by the route's rule


def _back(url: str, message: str = "saved") -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}m={message}", 303)




# -- overview ---------------------------------------------------------------------------
async def home(request: Request) -> Response:
    if request_host(request) == CHILD_HOST:
        return await me(request)
    user = current_user(request)
    if user is None:
        ctx = web_context(request)
        return RedirectResponse("/setup" if ctx.setup_token else "/login", 303)
    if not user.can(Permission.HOUSEHOLD_READ):
        # staff accounts: their work is the report queue
        return RedirectResponse("/cases", 303)
    ctx, _user = _parent(request)
    t = translator_for(request, "parent")
    await ctx.settle()
    o = overview(ctx.db, ctx.now())
    cards = []
    overtaken = views.recently_overtaken(ctx)
    for pid, prof in ctx.runtime.profiles.items():
        queries, blocks = o.per_profile.get(pid, ([0] * len(o.hours), [0] * len(o.hours)))
        view = views.profile_view(ctx, prof, overtaken)
        budget_items = [(b["service"], float(b["used"])) for b in view["budgets"]]
        budget_chart = hbars(t("Time used against budget"), budget_items,
                             limit=max((b["minutes"] for b in view["budgets"]), default=None),
                             unit=" min") if budget_items else None
        cards.append({"profile": view, "totals": o.totals.get(pid, (0, 0)),
                      "chart": hourly_bars(t("Queries and blocks per hour: {name}",
                                             name=prof.name), o.hours, queries, blocks),
                      "budgets": budget_chart})
    pending = ctx.state.requests("pending", limit=10)
    return render(request, "overview.html", cards=cards, pending=pending,
                  reasons=hbars(t("Blocks by reason"), [(t(k), v) for k, v in o.by_reason]),
                  categories=hbars(t("Blocks by category"),
                                   [(t(k.replace("_", " ")), v) for k, v in o.by_category]),
                  top=hbars(t("Top blocked names"), o.top_blocked),
                  message=request.query_params.get("m"))


# -- profiles ---------------------------------------------------------------------------
async def profiles_page(request: Request) -> Response:
    ctx, _ = _parent(request)
    overtaken = views.recently_overtaken(ctx)
    return render(request, "profiles.html",
                  profiles=[views.profile_view(ctx, p, overtaken)
                            for p in ctx.runtime.profiles.values()])


async def profile_bedtime(request: Request) -> Response:
    ctx, user, form = await _form(request)
    pid = request.path_params["pid"]
    bedtime = _s(form, "bedtime")
    wake = _s(form, "wake_up") or None
    if bedtime != "off" and wake is None:
        current = views.profile_view(ctx, actions.profile(ctx, pid))["bedtime"]
        wake = current["to"] if current else "07:00"
    await actions.set_bedtime(ctx, user.name, pid, bedtime, wake, _s(form, "days") or None)
    return _back(f"/profiles/{pid}", "bedtime")


# -- devices ----------------------------------------------------------------------------
async def devices_page(request: Request) -> Response:
    ctx, _ = _parent(request)
    return render(request, "devices.html", clients=views.clients_view(ctx),
                  profiles=list(ctx.runtime.profiles.values()),
                  message=request.query_params.get("m"))


async def devices_add(request: Request) -> Response:
    ctx, user, form = await _form(request)
    await actions.add_client(ctx, user.name, _s(form, "name"), _s(form, "profile"),
                             _lines(_s(form, "addresses")))
    return _back("/devices")


async def devices_remove(request: Request) -> Response:
    ctx, user, _form_data = await _form(request)
    await actions.remove_client(ctx, user.name, int(request.path_params["index"]))
    return _back("/devices", "removed")


# -- log --------------------------------------------------------------------------------
async def querylog_page(request: Request) -> Response:
    ctx, _ = _parent(request)
    qp = request.query_params
    try:
        hours = min(max(int(qp.get("since_hours", "24")), 1), 24 * 366)
    except ValueError:
        hours = 24
    f = LogFilter(qp.get("q", ""), qp.get("profile", ""), qp.get("action", ""),
                  qp.get("reason", ""), hours, 200)
    await ctx.settle()
    t = translator_for(request, "parent")
    names = {k: s.name for k, s in ctx.runtime.catalog.services.items()}
    rows = search_log(ctx.db, f, ctx.now())
    for row in rows:
        row["why"] = explain(t, row, names)
        row["can_change"] = row["profile"] in ctx.runtime.profiles and row["action"] in (
            "allow", "block") and row["reason"] not in FIXED_REASONS
    done = None
    if qp.get("m") in ("allowed", "blocked") and qp.get("for") in ctx.runtime.profiles:
        prof = ctx.runtime.profiles[qp["for"]]
        name = qp.get("name", "")
        decision = actions.decide_name(ctx, prof, name) if name else None
        done = {"name": name, "child": prof.name, "now": explain(t, {
            "reason": decision.reason.value, "category": decision.category,
            "service": decision.service}, names) if decision else "",
            "blocked": bool(decision and decision.blocked)}
    return render(request, "querylog.html", rows=rows, f=f,
                  profiles={pid: p.name for pid, p in ctx.runtime.profiles.items()},
                  reasons=[r.value for r in Reason], done=done)


# -- requests, pause --------------------------------------------------------------------
async def requests_page(request: Request) -> Response:
    ctx, _ = _parent(request)
    return render(request, "requests.html", pending=ctx.state.requests("pending"),
                  grants=actions.active_grants(ctx),
                  done=[r for r in ctx.state.requests(limit=50) if r.status != "pending"],
                  profiles=ctx.runtime.profiles, message=request.query_params.get("m"))


async def request_decide(request: Request) -> Response:
    ctx, user, form = await _form(request)
    await actions.decide_request(ctx, user.name, int(request.path_params["rid"]),
                                 _s(form, "decision"), _s(form, "reply"))
    return _back("/requests", "answered")


async def grant_revoke(request: Request) -> Response:
    ctx, user, _f = await _form(request)
    actions.revoke_grant(ctx, user.name, int(request.path_params["gid"]))
    return _back("/requests", "removed")


async def pause_submit(request: Request) -> Response:
    ctx, user, form = await _form(request)
    try:
        minutes = int(_s(form, "minutes", "0"))
    except ValueError:
        raise InputError("minutes: a number") from None
    actions.pause(ctx, user.name, _s(form, "profile", "all"), minutes)
    back = _s(form, "back", "/")
    return _back(back if back.startswith("/") and not back.startswith("//") else "/",
                 "paused" if minutes else "resumed")


# -- settings, audit --------------------------------------------------------------------
def _settings(request: Request, ctx: WebContext, user: User, **extra: Any) -> Response:
    return settings_response(request, ctx, user, 400 if extra.get("error") else 200, **extra)


def settings_response(request: Request, ctx: WebContext, user: User, status: int,
                      **extra: Any) -> Response:
    """The Settings page; ``extra`` replaces what a section shows (a form shown again with
    its problem, a new token, test results)."""
    from kidshield.web.pages.notifications import notifications_section

    users = [views.user_view(u) for u in ctx.users.all()] if user.can(Permission.ACCOUNTS) \
        else []
    values: dict[str, Any] = {"new_token": None, "message": request.query_params.get("m"),
                              "error": None, **notifications_section(ctx), **extra}
    now = ctx.now()
    return render(request, "settings.html", status, local_ca=ctx.local_ca,
                  s=views.settings_view(ctx), users=users, roles=ROLES,
                  tokens=[views.token_view(t, now) for t in actions.visible_tokens(ctx, user)],
                  scopes=list(SCOPE_TEXT.items()),
                  pin_too_short=any(u.id == user.id for u in actions.short_pins(ctx)),
                  **values)


async def settings_page(request: Request) -> Response:
    ctx, user = _parent(request)
    return _settings(request, ctx, user)


async def settings_user(request: Request) -> Response:
    ctx, user, form = await _form(request)
    roles = frozenset(str(r) for r in form.getlist("roles"))
    try:
        await run_in_threadpool(actions.add_user, ctx, user.name, _s(form, "name"),
                                str(form.get("password", "")), roles)
    except (InputError, actions.Refused, Conflict) as exc:
        return _settings(request, ctx, user, error=str(exc))
    return _back("/settings", "saved")


async def settings_password(request: Request) -> Response:
    ctx, user, form = await _form(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        await run_in_threadpool(actions.change_password, ctx, user,
                                str(form.get("current_password", "")),
                                str(form.get("new_password", "")),
                                digest(cookie) if cookie else None)
    except (InputError, actions.Refused) as exc:
        return _settings(request, ctx, user, error=str(exc))
    return _back("/settings", "saved")


async def settings_submit(request: Request) -> Response:
    ctx, user, form = await _form(request)
    try:
        retention = int(_s(form, "retention_days", "7"))
    except ValueError:
        raise InputError("retention_days: a number of days") from None
    await actions.edit_settings(ctx, user.name, {
        "retention_days": retention, "anonymize_clients": "anonymize_clients" in form,
        "only_blocked": "only_blocked" in form, "block_mode": _s(form, "block_mode")})
    return _back("/settings")


async def settings_pin(request: Request) -> Response:
    ctx, user, form = await _form(request)
    await run_in_threadpool(actions.set_pin, ctx, user, _s(form, "pin"))
    return _back("/settings", "pin")


async def settings_pin_unlock(request: Request) -> Response:
    ctx, user, _f = await _form(request)
    actions.unlock_pin(ctx, user.name)
    return _back("/settings", "saved")


async def settings_token(request: Request) -> Response:
    ctx, user, form = await _form(request)
    try:
        days = int(_s(form, "expires_in_days", "90"))
    except ValueError:
        raise InputError("expires_in_days: a number of days") from None
    scopes = frozenset(str(s) for s in form.getlist("scopes"))
    try:
        _info, token = actions.create_token(ctx, user, _s(form, "name"), scopes, days)
    except (InputError, actions.Refused) as exc:
        return _settings(request, ctx, user, error=str(exc))
    return _settings(request, ctx, user, new_token=token, message=None)


async def settings_token_revoke(request: Request) -> Response:
    ctx, user, _f = await _form(request)
    actions.revoke_token(ctx, user, int(request.path_params["tid"]))
    return _back("/settings", "revoked")


async def audit_page(request: Request) -> Response:
    ctx, _ = _parent(request)
    try:
        offset = max(int(request.query_params.get("offset", "0")), 0)
    except ValueError:
        offset = 0
    return render(request, "audit.html", entries=ctx.audit_log.recent(100, offset),
                  offset=offset)


async def preview_block(request: Request) -> Response:
    """What a child of each age band sees for a reason (parents check the wording)."""
    ctx, _ = _parent(request)
    qp = request.query_params
    band = qp.get("band", AgeBand.AGE_9_12.value)
    reason_name = qp.get("reason", "category")
    if reason_name not in BODIES or band not in {b.value for b in AgeBand}:
        raise HTTPException(404, "unknown band or reason")
    reason = Reason(reason_name) if reason_name in Reason._value2member_map_ else Reason.CATEGORY
    category = qp.get("category") or ("self_harm" if reason_name == "self_harm" else "gambling")
    decision = Decision(Action.BLOCK, reason, band=band, category=category,
                        service=qp.get("service"))
    prof = next(iter(ctx.runtime.profiles.values()), ctx.runtime.fallback)
    return block_response(request, ctx, qp.get("name", "example.com"), decision, prof,
                          preview=True)


def page_routes() -> list[BaseRoute]:
    read, control = Permission.HOUSEHOLD_READ, Permission.HOUSEHOLD_CONTROL
    edit, post = Permission.HOUSEHOLD_EDIT, ("POST",)
    return [
        page("/", home, Permission.PUBLIC),  # the child page, sign-in, or the overview
        *session_routes(),
        page("/profiles", profiles_page, read),
        *profile_editor_routes(),
        *wizard_routes(),
        page("/profiles/{pid}/bedtime", profile_bedtime, edit, methods=post),
        page("/devices", devices_page, read),
        page("/devices", devices_add, edit, methods=post),
        page("/devices/{index:int}/remove", devices_remove, edit, methods=post),
        *encrypted_dns_routes(),
        *list_routes(),
        page("/querylog", querylog_page, read),
        *querylog_routes(),
        *pause_routes(),
        page("/requests", requests_page, read),
        page("/requests/{rid:int}", request_decide, control, methods=post),
        page("/grants/{gid:int}/revoke", grant_revoke, control, methods=post),
        page("/pause", pause_submit, control, methods=post),
        page("/settings", settings_page, read),
        page("/settings", settings_submit, edit, methods=post),
        *notification_routes(),
        page("/settings/pin", settings_pin, edit, methods=post),
        page("/settings/pin/unlock", settings_pin_unlock, control, methods=post),
        page("/settings/users", settings_user, Permission.ACCOUNTS, methods=post),
        page("/settings/password", settings_password, Permission.OWN_PASSWORD, methods=post),
        page("/settings/tokens", settings_token, Permission.TOKENS, methods=post),
        page("/settings/tokens/{tid:int}/revoke", settings_token_revoke, Permission.TOKENS,
             methods=post),
        page("/audit", audit_page, read),
        page("/preview/block", preview_block, read),
    ]
