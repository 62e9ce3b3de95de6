"""What parents (and children) can do, in one place: the dashboard forms and the REST API both
call these functions, so every dashboard action exists in the API and is audited the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from kidshield.errors import InputError, TooManyRequests
from kidshield.lists.sources import update_list
from kidshield.notifications import settings as notify_settings
from kidshield.notify import Delivery
from kidshield.policy.domains import normalize_name
from kidshield.policy.model import Profile, Query
from kidshield.policy.reason import Decision
from kidshield.policy.schedule import next_local_midnight
from kidshield.policy.state import Grant
from kidshield.state.overlay import Change
from kidshield.state.store import AccessRequest, RequestDecision
from kidshield.storage.sql import SqlListMetaStore
from kidshield.web.accounts import (
    SignIn,
    add_user,
    change_password,
    check_password,
    check_pin,
    create_token,
    login,
    revoke_token,
    set_pin,
    setup_parent,
    short_pins,
    unlock_pin,
    visible_tokens,
)
from kidshield.web.context import WebContext
from kidshield.web.errors import N_, NotFound, Refused
from kidshield.web.ratelimit import client_key

DECISIONS = ("30min", "tonight", "always", "decline")


def profile(ctx: WebContext, pid: str) -> Profile:
    found = ctx.runtime.profiles.get(pid)
    if found is None:
        raise NotFound(f"no profile named {pid!r}")
    return found


def decide_name(ctx: WebContext, prof: Profile, name: str) -> Decision:
    """The decision the DNS server makes for this profile right now (the same engine)."""
    now = ctx.now()
    state = ctx.state.for_profile(prof, now)
    return ctx.runtime.engine.decide(Query(name), prof, now, state)


# -- pause --------------------------------------------------------------------------------
def pause(ctx: WebContext, actor: str, pid: str, minutes: int) -> datetime | None:
    """Pause protection for ``minutes`` (0 resumes). ``pid`` "all" pauses every profile."""
    if not 0 <= minutes <= 24 * 60:
        raise InputError("minutes: from 0 to 1440")
    targets = list(ctx.runtime.profiles) if pid == "all" else [profile(ctx, pid).id]
    now = ctx.now()
    until = now + timedelta(minutes=minutes) if minutes else None
    ctx.state.pause(targets, until, actor, ctx.audit_entry(
        actor, "pause" if minutes else "resume", pid, minutes=minutes))
    return until


# -- access requests ----------------------------------------------------------------------
MAX_NOTE = 500  # characters of a child's question or a parent's answer


def note_text(text: str) -> str:
    """A child's question or a parent's answer as it is kept: line breaks as ``\n``, tabs as
    spaces, other control characters (NUL, BEL) and bidi embeddings, overrides and isolates
    dropped, at most MAX_NOTE characters. PostgreSQL refuses a NUL in text (a 500 that lost
    the child's question; the family walk, session 16), and a right-to-left override would
    turn the words around on the parent's screen. Joiners stay: emoji and scripts need them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = "".join(ch for ch in text if ch == "\n" or (
        unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS))
    return kept.strip()[:MAX_NOTE]


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


async def create_request(ctx: WebContext, prof: Profile, domain: str, message: str,
                         ip: str) -> AccessRequest:
    """A child asks for ``domain``; the parent hears of it on the channels set up in
    Settings (links point at the dashboard's own address)."""
    name = normalize_name(domain)
    wait = ctx.limiter.acquire(("ask.client", client_key(ip)))
    if wait:
        raise TooManyRequests(N_("You have asked many times. Please wait a little."),
                              retry_after=wait)
    decision = decide_name(ctx, prof, name)
    request = ctx.state.add_request(AccessRequest(
        prof.id, name, ctx.now(), decision.reason.value, note_text(message)))
    ctx.audit(f"child ({prof.name})", "request.create", name, id=request.id)
    ctx.notifier.access_request(prof, request)
    return request


def allow_now(ctx: WebContext, actor: str, prof: Profile, domain: str,
              decision: str) -> Grant:
    """A parent allows a name straight away (child page with PIN, or the dashboard)."""
    if decision not in ("30min", "tonight"):
        raise InputError("decision: 30min or tonight")
    name = normalize_name(domain)
    until = grant_until(ctx, prof, decision)
    return ctx.state.add_grant(Grant(prof.id, name, until, actor, "allowed directly"),
                               ctx.audit_entry(actor, "grant.create", name, profile=prof.id,
                                               until=until))


def active_grants(ctx: WebContext) -> list[Grant]:
    now = ctx.now()
    return [g for pid in ctx.runtime.profiles for g in ctx.state.grants(pid) if g.active(now)]


def revoke_grant(ctx: WebContext, actor: str, grant_id: int) -> None:
    if ctx.state.revoke_grant(grant_id, ctx.audit_entry(actor, "grant.revoke",
                                                         str(grant_id))) is None:
        raise NotFound(f"no active grant {grant_id}")


def grant_until(ctx: WebContext, prof: Profile, decision: str) -> datetime | None:
    now = ctx.now()
    if decision == "30min":
        return now + timedelta(minutes=30)
    if decision == "tonight":
        midnight = next_local_midnight(now, prof.tz)
        settings = ctx.runtime.engine.settings(prof, prof.band_at(now))
        local = now.astimezone(prof.tz)
        for rule in settings.schedules:
            if rule.bedtime and local.weekday() in rule.window.days:
                start = datetime.combine(local.date(), time(rule.window.start // 60,
                                                            rule.window.start % 60),
                                         tzinfo=prof.tz)
                if start > now:
                    return min(start, midnight)
        return midnight
    return None


async def decide_request(ctx: WebContext, actor: str, request_id: int, decision: str,
                         reply: str = "") -> AccessRequest:
    """Answer a request: the answer, the grant or allow-list change that carries it out, and
    the audit entry are stored together (one transaction), so none is ever left without the
    others."""
    if decision not in DECISIONS:
        raise InputError(f"decision: one of {', '.join(DECISIONS)}")
    request = ctx.state.request(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    prof = profile(ctx, request.profile)
    now = ctx.now()
    until = None
    grant = None
    edits = []
    if decision == "decline":
        status = "declined"
    elif decision == "always":
        status = "allowed"
        edits = ctx.editor.prepare(_profile_changes(ctx, prof.id, {"add_allow": [
            request.domain]}), actor)
    else:
        status = "allowed"
        until = grant_until(ctx, prof, decision)
        grant = Grant(prof.id, request.domain, until, actor, f"request {request_id}")
    answer = RequestDecision(status, decision, until, note_text(reply), actor, now)
    decided = ctx.state.decide_request(
        request_id, answer, grant, edits,
        ctx.audit_entry(actor, f"request.{status}", request.domain, id=request_id,
                        decision=decision, profile=prof.id, until=until))
    if decided is None:
        raise NotFound(f"no request {request_id}")
    return decided


# -- settings edits ----------------------------------------------------------------------
# Kept in the database over the configuration file (kidshield/state/editor.py): in force here
# at once and on every node sharing the database within seconds; `kidshield config export`
# writes them into the file.
PROFILE_FIELDS = ("name", "shared", "birth_date", "age_band", "timezone", "bedtime", "wake_up",
                  "bedtime_days", "safe_search", "youtube", "extra_blocked_categories",
                  "unblocked_categories", "extra_blocked_services", "unblocked_services",
                  "allow", "allow_free_time", "learning_sites", "deny", "budgets",
                  "schedules")


def _profile_changes(ctx: WebContext, pid: str, changes: dict[str, Any]) -> list[Change]:
    """The dashboard's profile changes as settings changes. ``None`` removes a setting; the
    special keys ``add_allow``/``add_deny`` append to the lists in force."""
    target = f"profiles.{pid}"
    current = ctx.config.profiles[pid]
    out: list[Change] = []
    for key, value in changes.items():
        if key == "name" and isinstance(value, str):
            # an empty name is "Hi !" on the child page and a blank row on the dashboard
            value = value.strip()
            if not value:
                raise InputError("name: the child's name (not empty)", field="name")
        if key == "budgets" and value:
            # minutes for an id the engine never looks up would limit nothing, silently
            # (as `kidshield check --usage nope=5` refuses it)
            for service in value:
                if service not in ctx.runtime.catalog.services:
                    raise InputError(f"budgets.{service}: unknown service {service!r} "
                                     f"(see 'kidshield services')", field=f"budgets.{service}")
        if key in ("add_allow", "add_deny"):
            items = list(getattr(current, key[4:]))
            items += [item for item in value if item not in items]
            out.append(Change(target, key[4:], items))
        elif key in PROFILE_FIELDS:
            if (key == "age_band" and value is not None and current.birth_date is not None
                    and "birth_date" not in changes):
                out.append(Change(target, "birth_date", None))  # one or the other
            out.append(Change(target, key, value))
        else:
            raise InputError(f"{key}: not a profile setting", field=key)
    return out


async def edit_profile(ctx: WebContext, actor: str, pid: str, changes: dict[str, Any],
                       audit: bool = True) -> None:
    """Change profile settings (kept over the configuration file)."""
    profile(ctx, pid)
    entry = ctx.audit_entry(actor, "profile.edit", pid, **changes) if audit else None
    ctx.editor.change(_profile_changes(ctx, pid, changes), actor, entry)


async def set_bedtime(ctx: WebContext, actor: str, pid: str, bedtime: str,
                      wake_up: str | None, days: str | None = None) -> None:
    profile(ctx, pid)
    changes: dict[str, Any] = {"bedtime": bedtime,
                               "wake_up": None if bedtime == "off" else wake_up}
    if days:
        changes["bedtime_days"] = days
    ctx.editor.change(_profile_changes(ctx, pid, changes), actor, ctx.audit_entry(
        actor, "profile.bedtime", pid, bedtime=bedtime, wake_up=wake_up, days=days))


def discard_edit(ctx: WebContext, actor: str, edit_id: int) -> None:
    """Drop a dashboard change in force: the setting goes back to the file's value."""
    ctx.editor.discard(edit_id, actor, ctx.audit_entry(actor, "edit.discard", str(edit_id)))


SETTINGS = {"retention_days": "logging", "anonymize_clients": "logging",
            "only_blocked": "logging", "block_mode": "dns"}


async def edit_settings(ctx: WebContext, actor: str, changes: dict[str, Any]) -> None:
    for key in changes:
        if key not in SETTINGS:
            raise InputError(f"{key}: not a setting", field=key)
    ctx.editor.change([Change(SETTINGS[k], k, v) for k, v in changes.items()], actor,
                      ctx.audit_entry(actor, "settings.edit", "", **changes))


async def add_client(ctx: WebContext, actor: str, name: str, pid: str,
                     addresses: list[str], macs: Sequence[str] = (),
                     client_ids: Sequence[str] = ()) -> None:
    """A device of a child's: by address (or network), MAC address or DoH/DoT client id."""
    profile(ctx, pid)
    name = name.strip()
    if not name:
        raise InputError("name: give the device a name", field="name")
    if any(c.name == name for c in ctx.config.clients):
        raise InputError(f"name: there is a device named {name!r} already", field="name")
    if not (addresses or macs or client_ids):
        raise InputError("addresses: an address, a MAC address or a DoH id of the device",
                         field="addresses")
    table: dict[str, Any] = {"name": name, "profile": pid, "addresses": list(addresses)}
    if macs:
        table["macs"] = [m.lower() for m in macs]
    if client_ids:
        table["client_ids"] = list(client_ids)
    ctx.editor.change([Change("clients", name, table)], actor,
                      ctx.audit_entry(actor, "client.add", name, **table))


async def remove_client(ctx: WebContext, actor: str, index: int) -> None:
    clients = ctx.config.clients
    if not 0 <= index < len(clients):
        raise NotFound(f"no client {index}")
    name = clients[index].name
    ctx.editor.change([Change("clients", name, None)], actor,
                      ctx.audit_entry(actor, "client.remove", name))


# -- lists --------------------------------------------------------------------------------
async def update_lists(ctx: WebContext, actor: str, name: str | None = None) -> list[
        dict[str, str]]:
    config = ctx.config
    targets = [lst for lst in config.lists if lst.enabled and (name is None or lst.name == name)]
    if name is not None and not targets:
        raise NotFound(f"no enabled list named {name!r}")
    store = SqlListMetaStore(ctx.db)
    results: list[dict[str, str]] = []
    ctx.audit(actor, "lists.update", name or "all")

    def run() -> None:
        with httpx.Client(timeout=60, follow_redirects=True) as client:
            for i, lst in enumerate(targets, start=1):
                ctx.list_progress[lst.name] = f"updating ({i}/{len(targets)})"
                result = update_list(config, lst, store, client, ctx.now())
                ctx.list_progress[lst.name] = result.status
                results.append({"name": lst.name, "status": result.status,
                                "message": result.message})

    await run_in_threadpool(run)
    await ctx.reload()
    return results


# -- notifications ------------------------------------------------------------------------
def set_notify(ctx: WebContext, actor: str, kind: str, url: str) -> None:
    """The single webhook or ntfy address of the first API version (PUT
    /settings/notifications): it sets that channel and switches the other off."""
    if kind not in ("none", "webhook", "ntfy"):
        raise InputError("kind: one of none, webhook, ntfy")
    if kind != "none" and not url.startswith(("http://", "https://")):
        raise InputError("url: an http:// or https:// address")
    current = ctx.notifier.settings()
    webhook = notify_settings.Webhook(kind == "webhook", url if kind == "webhook" else "")
    ntfy = current.ntfy
    if kind == "ntfy":
        server, _sep, topic = url.rstrip("/").rpartition("/")
        ntfy = notify_settings.Ntfy(True, server, topic, current.ntfy.token)
    else:
        ntfy = replace(ntfy, enabled=False)
    save_notifications(ctx, actor, replace(current, webhook=webhook, ntfy=ntfy,
                                           email=replace(current.email, enabled=False)))


def save_notifications(ctx: WebContext, actor: str,
                       settings: notify_settings.Notifications) -> None:
    settings = notify_settings.keep_secrets(settings, ctx.notifier.settings())
    notify_settings.save(ctx.settings, settings,
                         server_mail=ctx.notifier.file_smtp() is not None)
    ctx.audit(actor, "notify.set", ",".join(
        name for name, on in (("ntfy", settings.ntfy.enabled), ("email", settings.email.enabled),
                              ("webhook", settings.webhook.enabled)) if on) or "none",
        requests=settings.requests, weekly=settings.weekly)


async def test_notify(ctx: WebContext, actor: str) -> list[Delivery]:
    results = await ctx.notifier.test()
    ctx.audit(actor, "notify.test", "", **{f"{r.kind} {r.target}": r.ok for r in results})
    return results


__all__ = [
    "DECISIONS",
    "PROFILE_FIELDS",
    "NotFound",
    "Refused",
    "SignIn",
    "active_grants",
    "add_client",
    "add_user",
    "allow_now",
    "change_password",
    "check_password",
    "check_pin",
    "create_request",
    "create_token",
    "decide_name",
    "decide_request",
    "discard_edit",
    "edit_profile",
    "edit_settings",
    "grant_until",
    "login",
    "pause",
    "profile",
    "remove_client",
    "revoke_grant",
    "revoke_token",
    "save_notifications",
    "set_bedtime",
    "set_notify",
    "set_pin",
    "setup_parent",
    "short_pins",
    "test_notify",
    "unlock_pin",
    "update_lists",
    "visible_tokens",
]
