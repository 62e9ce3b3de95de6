"""The query log's row actions: allow or block a name for the child whose device asked, from
the row itself. Allowing adds the name to the profile's always-allow list, blocking to its
always-block list (the same change as the profile page makes), and the log says afterwards
what the name gets now."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError
from kidshield.policy.domains import normalize_name
from kidshield.web import actions
from kidshield.web.access import Permission, require_user
from kidshield.web.context import web_context
from kidshield.web.pages.forms import text as _s
from kidshield.web.routing import page

ACTIONS = ("allow", "block")


async def querylog_action(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    what = _s(form, "do")
    if what not in ACTIONS:
        raise InputError("do: allow or block", field="do")
    prof = actions.profile(ctx, _s(form, "profile"))
    name = normalize_name(_s(form, "name"))
    pc = ctx.config.profiles.get(prof.id)
    changes: dict[str, list[str]] = {}
    if what == "allow":
        changes["add_allow"] = [name]
        if pc is not None and name in pc.deny:
            changes["deny"] = [d for d in pc.deny if d != name]
    else:
        changes["add_deny"] = [name]
        if pc is not None and name in pc.allow:
            changes["allow"] = [d for d in pc.allow if d != name]
    await actions.edit_profile(ctx, user.name, prof.id, changes, audit=False)
    ctx.audit(user.name, f"querylog.{what}", name, profile=prof.id)
    back = {k: _s(form, f"back_{k}") for k in ("q", "profile", "action", "reason",
                                                "since_hours")}
    query = urlencode({k: v for k, v in back.items() if v} | {
        "m": "allowed" if what == "allow" else "blocked", "name": name, "for": prof.id})
    return RedirectResponse(f"/querylog?{query}", 303)


def querylog_routes() -> list[BaseRoute]:
    return [page("/querylog/action", querylog_action, Permission.HOUSEHOLD_EDIT,
                 methods=("POST",))]
