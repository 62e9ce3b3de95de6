"""The first-run wizard (issue 16 item 2), also the way to add a child later: after the parent
account, each child (name, birth date, time zone: the age band follows the birthday), then
their devices (picked from the addresses that asked the resolver in the last hour, or by
address, MAC or DoH id), then done. Every step is an ordinary dashboard edit (kept over the
configuration file, ``kidshield/state``), so each can be changed later on the profile and
devices pages."""

from __future__ import annotations

import ipaddress
import re
import time
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError, KidshieldError
from kidshield.state.overlay import WHOLE, Change
from kidshield.web import actions
from kidshield.web.access import Permission, require_user
from kidshield.web.context import WebContext, web_context
from kidshield.web.pages.forms import EMPTY, FormState, lines
from kidshield.web.pages.forms import text as _s
from kidshield.web.render import render
from kidshield.web.routing import page

STEPS = ("children", "devices", "done")
SEEN_HOURS = 1


def profile_id(name: str, taken: set[str]) -> str:
    """An id for a new profile from the child's name: 'Zoë Ann' -> 'zoe_ann' ('child' when
    the name has no Latin letters), unique among ``taken``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:32] or "child"
    found, n = base, 2
    while found in taken:
        found, n = f"{base}_{n}", n + 1
    return found


def _birth_date(text: str, today: date) -> date:
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"birth_date: {text!r} is not a date (YYYY-MM-DD)",
                         field="birth_date") from None
    if born > today:
        raise InputError("birth_date: a day in the past", field="birth_date")
    if born < today.replace(year=today.year - 25):
        raise InputError("birth_date: protection is for children (it ends at 18)",
                         field="birth_date")
    return born


async def add_child(ctx: WebContext, actor: str, name: str, birth_date: str,
                    timezone: str) -> str:
    """Create a profile from the wizard's form; its id."""
    name = " ".join(name.split())
    if not name or len(name) > 64:
        raise InputError("name: the child's name (up to 64 characters)", field="name")
    born = _birth_date(birth_date, ctx.now().date())
    table: dict[str, Any] = {"name": name, "birth_date": born.isoformat()}
    if timezone and timezone != ctx.config.server.timezone:
        if timezone not in available_timezones():
            raise InputError(f"timezone: {timezone!r} is not a time zone like Europe/London",
                             field="timezone")
        table["timezone"] = timezone
    pid = profile_id(name, set(ctx.config.profiles))
    ctx.editor.change([Change(f"profiles.{pid}", WHOLE, table)], actor,
                      ctx.audit_entry(actor, "profile.add", pid, **table))
    return pid


def seen_devices(seen: Mapping[str, float], clock_now: float, now: datetime,
                 known: list[str]) -> list[dict[str, Any]]:
    """Addresses that asked the resolver in the last hour and belong to no device yet
    (``seen``: address -> time.perf_counter() of its last question; ``known``: the devices'
    addresses and networks), newest first."""
    nets = []
    for item in known:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    found = []
    for client, at in sorted(seen.items(), key=lambda item: -item[1]):
        ago = clock_now - at
        if ago > SEEN_HOURS * 3600:
            break
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            continue
        if any(address.version == n.version and address in n for n in nets):
            continue
        found.append({"address": str(address), "last": now - timedelta(seconds=ago)})
    return found[:50]


def _view(ctx: WebContext, request: Request, step: str, f: FormState = EMPTY,
          status: int = 200) -> Response:
    cfg = ctx.config
    now = ctx.now()
    children = [{"id": p.id, "name": p.name, "band": p.band_at(now).label,
                 "birth_date": cfg.profiles[p.id].birth_date if p.id in cfg.profiles else None}
                for p in ctx.runtime.profiles.values()]
    known = [a for c in cfg.clients for a in c.addresses]
    return render(request, "welcome.html", status, step=step, steps=STEPS, f=f,
                  children=children, devices=[{"name": c.name, "profile": c.profile}
                                              for c in cfg.clients],
                  seen=seen_devices(ctx.dns.resolver.clients_seen, time.perf_counter(), now,
                                    known) if step == "devices" else [],
                  zones=sorted(available_timezones()), default_zone=cfg.server.timezone,
                  today=now.date().isoformat(), chosen=request.query_params.get("child", ""),
                  message=None if f.problem else request.query_params.get("m"), error=None)


async def welcome(request: Request) -> Response:
    ctx = web_context(request)
    require_user(request, Permission.HOUSEHOLD_READ)
    step = request.query_params.get("step", "children")
    await ctx.settle()
    return _view(ctx, request, step if step in STEPS else "children")


async def welcome_child(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    try:
        pid = await add_child(ctx, user.name, _s(form, "name"), _s(form, "birth_date"),
                              _s(form, "timezone"))
    except KidshieldError as exc:
        return _view(ctx, request, "children", FormState.of(form).failed(exc), 422)
    return RedirectResponse(f"/welcome?m=child_added&child={pid}#children-h", 303)


async def welcome_device(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    try:
        pid = _s(form, "profile")
        actions.profile(ctx, pid)
        await actions.add_client(ctx, user.name, _s(form, "name"), pid,
                                 lines(_s(form, "addresses")),
                                 macs=lines(_s(form, "macs")),
                                 client_ids=lines(_s(form, "client_ids")))
    except KidshieldError as exc:
        await ctx.settle()
        return _view(ctx, request, "devices", FormState.of(form).failed(exc), 422)
    return RedirectResponse("/welcome?step=devices&m=device_added#devices-h", 303)


def wizard_routes() -> list[BaseRoute]:
    edit, post = Permission.HOUSEHOLD_EDIT, ("POST",)
    return [page("/welcome", welcome, Permission.HOUSEHOLD_READ),
            page("/welcome/child", welcome_child, edit, methods=post),
            page("/welcome/device", welcome_device, edit, methods=post)]
