"""``/api/v1``: the same actions as the dashboard, as JSON, declared once in the ``api`` group
(see ``registry.py`` for sign-in, CSRF, validation and the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kidshield.errors import InputError
from kidshield.policy.domains import normalize_name
from kidshield.web import actions, list_actions, views
from kidshield.web.access import Permission, User
from kidshield.web.api import schemas as out
from kidshield.web.api.models import (
    BedtimeIn,
    CheckQuery,
    ClientIn,
    DecisionIn,
    GrantIn,
    ListIn,
    ListUpdateIn,
    LoginIn,
    LogQuery,
    NotifyIn,
    PageQuery,
    PasswordIn,
    PauseIn,
    PinIn,
    ProfilePatch,
    RequestQuery,
    SettingsPatch,
    SetupIn,
    TokenIn,
    UserIn,
)
from kidshield.web.api.registry import Api, row_id
from kidshield.web.auth import (
    DEVICE_COOKIE,
    DEVICE_DAYS,
    SESSION_COOKIE,
    SESSION_DAYS,
    device_cookie,
    digest,
)
from kidshield.web.context import WebContext, client_ip
from kidshield.web.csrf import csrf_token
from kidshield.web.devicesetup import issue_secret, setup_for
from kidshield.web.queries import LogFilter, overview, search_log

api: Api[WebContext] = Api(
    "dashboard", "Profiles, devices, lists, the query log, requests, grants, pauses, settings, "
    "accounts and the audit log: everything the parents' dashboard does.",
    allow=Permission.HOUSEHOLD_READ)
PUBLIC, ACCOUNT = Permission.PUBLIC, Permission.ACCOUNT
CONTROL, EDIT = Permission.HOUSEHOLD_CONTROL, Permission.HOUSEHOLD_EDIT


def _name(user: User | None) -> str:
    return user.name if user else "?"


def _number(request: Request, name: str) -> int:
    """A numeric path parameter: anything else names nothing there (404)."""
    number = row_id(request.path_params[name])
    if number is None:
        raise actions.NotFound(f"{name}: a number")
    return number


# -- session ------------------------------------------------------------------------------


@api("POST", "/setup", "Create the first parent account with the one-time setup token",
     body=SetupIn, allow=PUBLIC, response=out.Created, status=201, errors=(403,))
async def setup(request: Request, ctx: WebContext, _u: User | None, body: SetupIn) -> Any:
    user = await run_in_threadpool(actions.setup_parent, ctx, body.token, body.name,
                                   body.password, client_ip(request))
    return {"id": user.id, "name": user.name}


@api("POST", "/login", "Sign in (sets the session cookie)", body=LoginIn, allow=PUBLIC,
     response=out.SignedIn, errors=(401, 429), max_body=16 * 1024)
async def login(request: Request, ctx: WebContext, _u: User | None, body: LoginIn) -> Any:
    signed = await run_in_threadpool(actions.login, ctx, body.name, body.password,
                                     client_ip(request), request.cookies.get(DEVICE_COOKIE))
    response = JSONResponse({"name": signed.user.name, "roles": sorted(signed.user.roles)})
    start_session(request, ctx, response, signed)
    return response


def start_session(request: Request, ctx: WebContext, response: Any,
                  signed: actions.SignIn) -> None:
    """Sign the browser in: the session cookie, and the known-device cookie of the account
    when the browser has none yet (its failed sign-ins are then counted on their own)."""
    set_session_cookie(request, response, ctx.auth.start_session(signed.user.id, ctx.now()))
    if signed.device is None:
        response.set_cookie(DEVICE_COOKIE, device_cookie(ctx.secret, signed.user.id),
                            max_age=DEVICE_DAYS * 86400, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")


def set_session_cookie(request: Request, response: Any, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")


@api("GET", "/me", "Who is signed in, and the CSRF token for cookie-authenticated writes",
     allow=ACCOUNT, response=out.Me)
async def whoami(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    assert user is not None
    return {"id": user.id, "name": user.name, "roles": sorted(user.roles),
            "csrf": csrf_token(request, ctx.secret)}


# -- overview, profiles, clients ----------------------------------------------------------
@api("GET", "/overview", "Queries and blocks per profile over the last 24 hours",
     response=out.Overview)
async def get_overview(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    await ctx.settle()
    o = overview(ctx.db, ctx.now())
    return {"hours": [views.iso(h) for h in o.hours],
            "profiles": {p: {"queries": q, "blocks": b} for p, (q, b) in o.per_profile.items()},
            "totals": {p: {"queries": q, "blocks": b} for p, (q, b) in o.totals.items()},
            "by_reason": dict(o.by_reason), "by_category": dict(o.by_category),
            "top_blocked": dict(o.top_blocked),
            "budgets": {pid: views.profile_view(ctx, p, ())["budgets"]
                        for pid, p in ctx.runtime.profiles.items()}}


@api("GET", "/profiles", "All profiles with their effective settings",
     response=list[out.ProfileView])
async def list_profiles(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    overtaken = views.recently_overtaken(ctx)
    return [views.profile_view(ctx, p, overtaken) for p in ctx.runtime.profiles.values()]


@api("GET", "/profiles/{pid}", "One profile, with its week grid of blocked hours",
     response=out.ProfileWithWeek)
async def get_profile(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    prof = actions.profile(ctx, request.path_params["pid"])
    return {**views.profile_view(ctx, prof), "week": views.week_grid(ctx, prof, ctx.now())}


@api("PATCH", "/profiles/{pid}", "Change profile settings (age band, categories, services, "
     "safe search, allow/deny lists, budgets)", body=ProfilePatch, response=out.ProfileView,
     allow=EDIT)
async def patch_profile(request: Request, ctx: WebContext, user: User | None,
                        body: ProfilePatch) -> Any:
    pid = request.path_params["pid"]
    changes = body.model_dump(exclude_unset=True, mode="json")
    await actions.edit_profile(ctx, _name(user), pid, changes)
    return views.profile_view(ctx, actions.profile(ctx, pid))


@api("PUT", "/profiles/{pid}/bedtime", "Set the bedtime (or \"off\")", body=BedtimeIn,
     response=out.ProfileView, allow=EDIT)
async def put_bedtime(request: Request, ctx: WebContext, user: User | None,
                      body: BedtimeIn) -> Any:
    pid = request.path_params["pid"]
    if body.bedtime != "off" and body.wake_up is None:
        raise InputError("wake_up: give the time protection ends in the morning (HH:MM)")
    await actions.set_bedtime(ctx, _name(user), pid, body.bedtime, body.wake_up, body.days)
    return views.profile_view(ctx, actions.profile(ctx, pid))


@api("GET", "/check", "What would this profile get for this name right now?",
     query=CheckQuery, response=out.DecisionView, errors=(404,))
async def check(request: Request, ctx: WebContext, _u: User | None, q: CheckQuery) -> Any:
    prof = actions.profile(ctx, q.profile)
    return actions.decide_name(ctx, prof, normalize_name(q.name)).to_dict()


@api("GET", "/clients", "Devices and the profile each belongs to",
     response=list[out.ClientView])
async def list_clients(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return views.clients_view(ctx)


@api("POST", "/clients", "Add a device", body=ClientIn, response=out.Clients, status=201,
     errors=(404,), allow=EDIT)
async def add_client(request: Request, ctx: WebContext, user: User | None, body: ClientIn) -> Any:
    await actions.add_client(ctx, _name(user), body.name, body.profile, body.addresses)
    return {"clients": views.clients_view(ctx)}


@api("DELETE", "/clients/{index}", "Remove a device", response=out.Clients, allow=EDIT)
async def delete_client(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    index = _number(request, "index")
    await actions.remove_client(ctx, _name(user), index)
    return {"clients": views.clients_view(ctx)}


@api("POST", "/clients/{index}/secret", "Issue a device secret for encrypted DNS (DoH/DoT): "
     "it selects the device's profile from any address, also away from home",
     response=out.DeviceSecret, status=201, errors=(404,), allow=EDIT)
async def issue_client_secret(request: Request, ctx: WebContext, user: User | None,
                              _b: None) -> Any:
    index = _number(request, "index")
    secret = await issue_secret(ctx, _name(user), index)
    name = ctx.config.clients[index].name
    setup = setup_for(ctx.config, name, secret, ctx.public_url)
    return {"device": name, "secret": secret, "doh_url": setup.doh_url,
            "dot_name": setup.dot_name}


# -- dashboard changes of settings (kept over the configuration file) ----------------------
@api("GET", "/edits", "Dashboard changes of settings in force over the configuration file, "
     "and those the file won over", response=out.Edits)
async def list_edits(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return {"in_force": [views.edit_view(e) for e in ctx.editor.active()],
            "overtaken": [views.edit_view(e) for e in ctx.editor.overtaken()]}


@api("DELETE", "/edits/{eid}", "Drop a dashboard change: the setting goes back to what the "
     "configuration file says", response=out.Ok, errors=(404,), allow=EDIT)
async def discard_edit(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    eid = _number(request, "eid")
    actions.discard_edit(ctx, _name(user), eid)
    return {"ok": True}


@api("GET", "/config/export", "The configuration file with the dashboard's changes written "
     "in (comments kept), to save as the new file", response={"type": "string"},
     media_type="application/toml", allow=Permission.SERVER)
async def export_config(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return Response(ctx.editor.export(), media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kidshield.toml"'})


# -- lists, log ---------------------------------------------------------------------------
@api("GET", "/lists", "Block and allow lists: source, last update, errors with line numbers",
     response=list[out.ListView])
async def get_lists(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return views.lists_view(ctx)


@api("POST", "/lists", "Add a block list on the web: it is downloaded first and refused (with "
     "the reason) when it cannot be fetched or read; kept as a dashboard change",
     body=ListIn, response=list[out.ListView], status=201, allow=EDIT)
async def add_list(request: Request, ctx: WebContext, user: User | None, body: ListIn) -> Any:
    await list_actions.add_list(ctx, _name(user), body.name, body.source, body.category,
                                body.format)
    return views.lists_view(ctx)


@api("DELETE", "/lists/{name}", "Stop using a list", response=list[out.ListView],
     errors=(404,), allow=EDIT)
async def delete_list(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    await list_actions.remove_list(ctx, _name(user), request.path_params["name"])
    return views.lists_view(ctx)


@api("POST", "/lists/update", "Update one list (or all) now", body=ListUpdateIn,
     response=out.ListResults, errors=(404,), allow=EDIT)
async def update_lists(request: Request, ctx: WebContext, user: User | None,
                       body: ListUpdateIn) -> Any:
    return {"results": await actions.update_lists(ctx, _name(user), body.name)}


@api("GET", "/querylog", "Search the query log", query=LogQuery, response=out.LogRows)
async def querylog(request: Request, ctx: WebContext, _u: User | None, q: LogQuery) -> Any:
    await ctx.settle()
    f = LogFilter(q.q, q.profile, q.action, q.reason, q.since_hours, q.limit, q.offset)
    return {"rows": search_log(ctx.db, f, ctx.now())}


# -- requests, pause ----------------------------------------------------------------------
@api("GET", "/requests", "Children's access requests", query=RequestQuery,
     response=list[out.RequestView])
async def list_requests(request: Request, ctx: WebContext, _u: User | None,
                        q: RequestQuery) -> Any:
    return [views.request_view(r) for r in ctx.state.requests(q.status or None, limit=q.limit)]


@api("POST", "/requests/{rid}/decision", "Allow for 30 minutes, until tonight, always, or "
     "decline with a message", body=DecisionIn, response=out.RequestView, allow=CONTROL)
async def decide(request: Request, ctx: WebContext, user: User | None, body: DecisionIn) -> Any:
    rid = _number(request, "rid")
    return views.request_view(await actions.decide_request(ctx, _name(user), rid,
                                                           body.decision, body.reply))


@api("GET", "/grants", "Names allowed for now (parent grants that have not ended)",
     response=list[out.GrantView])
async def list_grants(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return [views.grant_view(g) for g in actions.active_grants(ctx)]


@api("POST", "/grants", "Allow a name for 30 minutes or until tonight", body=GrantIn,
     response=out.GrantView, status=201, errors=(404,), allow=CONTROL)
async def create_grant(request: Request, ctx: WebContext, user: User | None,
                       body: GrantIn) -> Any:
    grant = actions.allow_now(ctx, _name(user), actions.profile(ctx, body.profile),
                              body.domain, body.decision)
    return views.grant_view(grant)


@api("DELETE", "/grants/{gid}", "End a grant now", response=out.Ok, allow=CONTROL)
async def delete_grant(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    gid = _number(request, "gid")
    actions.revoke_grant(ctx, _name(user), gid)
    return {"ok": True}


@api("POST", "/pause", "Pause protection for N minutes (0 resumes)", body=PauseIn,
     response=out.Paused, errors=(404,), allow=CONTROL)
async def pause(request: Request, ctx: WebContext, user: User | None, body: PauseIn) -> Any:
    until = actions.pause(ctx, _name(user), body.profile, body.minutes)
    return {"profile": body.profile, "paused_until": views.iso(until)}


# -- settings, accounts, audit ------------------------------------------------------------
@api("GET", "/settings", "Retention, logging privacy, block mode, notifications",
     response=out.SettingsView)
async def get_settings(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return views.settings_view(ctx)


@api("PATCH", "/settings", "Change retention, logging privacy or block mode",
     body=SettingsPatch, response=out.SettingsView, allow=EDIT)
async def patch_settings(request: Request, ctx: WebContext, user: User | None,
                         body: SettingsPatch) -> Any:
    await actions.edit_settings(ctx, _name(user), body.model_dump(exclude_none=True))
    return views.settings_view(ctx)


@api("PUT", "/settings/notifications", "Webhook or ntfy topic for new requests", body=NotifyIn,
     response=out.Notifications, allow=EDIT)
async def put_notify(request: Request, ctx: WebContext, user: User | None, body: NotifyIn) -> Any:
    actions.set_notify(ctx, _name(user), body.kind, body.url)
    return views.settings_view(ctx)["notifications"]


@api("POST", "/settings/notifications/test", "Send a test notification",
     response=out.Delivered, allow=EDIT)
async def test_notify(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    results = await actions.test_notify(ctx, _name(user))
    return {"delivered": any(r.ok for r in results)}


@api("PUT", "/pin", "Set the parent PIN used on the child page", body=PinIn,
     response=out.Ok, allow=EDIT)
async def put_pin(request: Request, ctx: WebContext, user: User | None, body: PinIn) -> Any:
    assert user is not None
    await run_in_threadpool(actions.set_pin, ctx, user, body.pin)
    return {"ok": True}


@api("POST", "/pin/unlock", "Let the child page take PINs again after too many wrong ones",
     response=out.Ok, allow=CONTROL)
async def unlock_pin(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    actions.unlock_pin(ctx, _name(user))
    return {"ok": True}


@api("GET", "/users", "Accounts and their roles", allow=Permission.ACCOUNTS,
     response=list[out.UserView])
async def list_users(request: Request, ctx: WebContext, _u: User | None, _b: None) -> Any:
    return [views.user_view(u) for u in ctx.users.all()]


@api("POST", "/users", "Add an account (another parent, a moderator or an analyst)",
     body=UserIn, allow=Permission.ACCOUNTS, response=out.UserView, status=201, errors=(409,))
async def add_user(request: Request, ctx: WebContext, user: User | None, body: UserIn) -> Any:
    created = await run_in_threadpool(actions.add_user, ctx, _name(user), body.name,
                                      body.password, frozenset(body.roles))
    return views.user_view(created)


@api("PUT", "/password", "Change your own password", body=PasswordIn,
     allow=Permission.OWN_PASSWORD,
     response=out.Ok)
async def put_password(request: Request, ctx: WebContext, user: User | None,
                       body: PasswordIn) -> Any:
    assert user is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    await run_in_threadpool(actions.change_password, ctx, user, body.current_password,
                            body.new_password, digest(cookie) if cookie else None)
    return {"ok": True}


@api("GET", "/audit", "The audit log, newest first", query=PageQuery,
     response=list[out.AuditView])
async def audit(request: Request, ctx: WebContext, _u: User | None, q: PageQuery) -> Any:
    return [views.audit_view(e) for e in ctx.audit_log.recent(q.limit, q.offset)]


@api("GET", "/tokens", "Your API tokens (an admin sees every account's), never their values",
     response=list[out.TokenView], allow=Permission.TOKENS)
async def list_tokens(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    assert user is not None
    return [views.token_view(t, ctx.now()) for t in actions.visible_tokens(ctx, user)]


@api("POST", "/tokens", "Create an API token holding only its scopes, for a number of days: "
     "the value is shown once. A token with the tokens scope may issue narrower, shorter-lived "
     "tokens, which are revoked with it", body=TokenIn, response=out.NewToken, status=201,
     allow=Permission.TOKENS)
async def create_token(request: Request, ctx: WebContext, user: User | None,
                       body: TokenIn) -> Any:
    assert user is not None
    info, token = actions.create_token(ctx, user, body.name, frozenset(body.scopes),
                                       body.expires_in_days)
    return {**views.token_view(info, ctx.now()), "token": token}


@api("DELETE", "/tokens/{tid}", "Revoke an API token and every token issued from it",
     response=out.Revoked, allow=Permission.TOKENS)
async def revoke_token(request: Request, ctx: WebContext, user: User | None, _b: None) -> Any:
    assert user is not None
    tid = _number(request, "tid")
    return {"ok": True, "revoked": actions.revoke_token(ctx, user, tid)}
