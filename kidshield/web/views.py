"""Plain-data views shared by the API (as JSON) and the dashboard templates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kidshield.lists.builtin import builtin_lists
from kidshield.policy.model import Profile
from kidshield.policy.schedule import format_hhmm
from kidshield.policy.state import Grant
from kidshield.state.store import AccessRequest, ConfigEdit
from kidshield.storage.protocols import ApiTokenInfo, AuditEntry, WebUser
from kidshield.storage.sql import SqlListMetaStore
from kidshield.web.context import WebContext


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def week_grid(ctx: WebContext, prof: Profile, now: datetime) -> list[list[str]]:
    """7 days x 24 hours: "bedtime", "schedule", "allow_only" or "" (what the clock blocks)."""
    settings = ctx.runtime.engine.settings(prof, prof.band_at(now))
    grid = [[""] * 24 for _ in range(7)]
    for rule in settings.schedules:
        w = rule.window
        for day in range(7):
            for hour in range(24):
                # the middle of each hour of a week that starts on a Monday (1 January 2024)
                inside = w.contains(datetime(2024, 1, 1 + day, hour, 30))
                if rule.action == "block" and inside:
                    grid[day][hour] = "bedtime" if rule.bedtime else "schedule"
                elif rule.action == "allow_only" and not inside and not rule.scoped:
                    grid[day][hour] = grid[day][hour] or "schedule"
    return grid


def edit_view(e: ConfigEdit) -> dict[str, Any]:
    return {"id": e.id, "setting": e.path if e.target != "clients" else f"clients.{e.field}",
            "value": None if e.value is None else json.loads(e.value),
            "file_value": None if e.base is None else json.loads(e.base),
            "by": e.made_by, "at": iso(e.made_at), "status": e.status.value,
            "ended_at": iso(e.ended_at), "note": e.note}


def recently_overtaken(ctx: WebContext) -> list[ConfigEdit]:
    """Dashboard changes the file won over in the last 30 days (read once per page)."""
    since = ctx.now() - timedelta(days=30)
    return [e for e in ctx.editor.overtaken() if e.ended_at is None or e.ended_at >= since]


def profile_view(ctx: WebContext, prof: Profile,
                 overtaken: Sequence[ConfigEdit] | None = None) -> dict[str, Any]:
    """``overtaken``: ``recently_overtaken(ctx)`` when several profiles are shown at once."""
    now = ctx.now()
    target = f"profiles.{prof.id}"
    if overtaken is None:
        overtaken = recently_overtaken(ctx)
    band = prof.band_at(now)
    s = ctx.runtime.engine.settings(prof, band)
    pc = ctx.config.profiles.get(prof.id)
    bedtime = next((r for r in s.schedules if r.bedtime), None)
    paused = ctx.state.paused_until(prof.id)
    internet = ctx.state.internet_paused_until(prof.id)
    usage = ctx.state.minutes_used(prof, now)
    return {
        "id": prof.id,
        "name": prof.name,
        # devices no profile names ("Everyone else") are everyone's (web/childpage.py)
        "shared": pc.shared if pc is not None else True,
        "age_band": band.value,
        "age": prof.age_at(now),
        "birth_date": None if prof.birth_date is None else prof.birth_date.isoformat(),
        "filtering": prof.filtering,
        "bedtime": None if bedtime is None else {
            "from": format_hhmm(bedtime.window.start), "to": format_hhmm(bedtime.window.end),
            "days": sorted(bedtime.window.days), "label": bedtime.window.label(),
            "default": prof.bedtime is None},
        "schedules": [{"name": r.name, "label": r.window.label(), "action": r.action,
                       "services": sorted(r.services), "categories": sorted(r.categories)}
                      for r in s.schedules if not r.bedtime],
        "blocked_categories": sorted(s.categories),
        "blocked_services": sorted(s.services),
        "safe_search": s.safe_search.value,
        "youtube": s.youtube.value,
        "bypass_protection": s.bypass_protection,
        "budgets": [{"service": k, "minutes": v, "used": round(usage.get(k, 0.0), 1)}
                    for k, v in sorted(prof.budgets.items())],
        "allow": [] if pc is None else list(pc.allow),
        "deny": [] if pc is None else list(pc.deny),
        "paused_until": iso(paused) if paused and paused > now else None,
        "internet_paused_until": iso(internet) if internet and internet > now else None,
        "internet_paused_at": (internet.astimezone(prof.tz).strftime("%H:%M")
                               if internet and internet > now else None),
        "edits": [edit_view(e) for e in ctx.editor.active() if e.target == target],
        "overtaken": [edit_view(e) for e in overtaken if e.target == target],
    }


def request_view(r: AccessRequest) -> dict[str, Any]:
    return {"id": r.id, "profile": r.profile, "domain": r.domain, "reason": r.reason,
            "message": r.message, "status": r.status, "decision": r.decision,
            "until": iso(r.until), "reply": r.reply, "created_at": iso(r.created_at),
            "decided_at": iso(r.decided_at), "decided_by": r.decided_by}


def grant_view(g: Grant) -> dict[str, Any]:
    return {"id": g.id, "profile": g.profile, "domain": g.domain, "until": iso(g.until),
            "granted_by": g.granted_by, "note": g.note}


def user_view(u: WebUser) -> dict[str, Any]:
    short = bool(u.pin_hash) and (u.pin_length is None or u.pin_length < 6)
    return {"id": u.id, "name": u.name, "roles": sorted(u.roles), "has_pin": bool(u.pin_hash),
            "pin_too_short": short, "created_at": iso(u.created_at)}


def audit_view(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action,
            "target": e.target, "detail": e.detail}


def token_view(t: ApiTokenInfo, now: datetime) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "user_id": t.user_id, "scopes": sorted(t.scopes),
            "created_at": iso(t.created_at), "expires_at": iso(t.expires_at),
            "last_used_at": iso(t.last_used_at), "revoked": t.revoked_at is not None,
            "expired": t.expires_at is not None and t.expires_at <= now,
            "issued_by": t.parent_id}


def clients_view(ctx: WebContext) -> list[dict[str, Any]]:
    seen = ctx.dns.resolver.client_profiles
    out = []
    for i, c in enumerate(ctx.config.clients):
        out.append({"index": i, "name": c.name, "profile": c.profile,
                    "addresses": list(c.addresses), "macs": list(c.macs),
                    "client_ids": list(c.client_ids),
                    "secret": bool(c.secret_ids),  # never the secret itself: a read role sees this
                    "seen": any(a.split("/")[0] in seen for a in c.addresses)})
    return out


def lists_view(ctx: WebContext) -> list[dict[str, Any]]:
    metas = {m.name: m for m in SqlListMetaStore(ctx.db).all()}
    reports = ctx.runtime.loaded.reports
    out = []
    shipped = builtin_lists(ctx.config)
    for lst in [*shipped, *ctx.config.lists]:
        meta = metas.get(lst.name)
        report = reports.get(lst.name)
        errors = [] if report is None else list(report.samples)
        if meta is not None and meta.error_samples:
            errors += [e for e in meta.error_samples.splitlines() if e]
        out.append({
            "name": lst.name, "source": lst.source, "format": lst.format,
            "category": lst.category, "enabled": lst.enabled, "allow": lst.allow,
            "builtin": lst in shipped,
            "added_in_dashboard": f"lists.{lst.name}" in ctx.config.edited,
            "rules": 0 if report is None else report.rules + report.allow_rules,
            "errors": 0 if report is None else report.errors,
            "error_lines": errors[:10],
            "status": "ok" if lst in shipped and report is not None else (
                ctx.list_progress.get(lst.name) or (meta.status if meta else "never")),
            "message": "" if meta is None else meta.message,
            "fetched_at": None if meta is None else iso(meta.fetched_at),
        })
    return out


def category_gaps_view(ctx: WebContext) -> list[dict[str, Any]]:
    """Categories some profile blocks that no list provides (they block nothing)."""
    names = {p.id: p.name for p in ctx.runtime.profiles.values()}
    return [{"category": g.category, "profiles": [names.get(p, p) for p in g.profiles]}
            for g in ctx.runtime.category_gaps(ctx.now())]


def settings_view(ctx: WebContext) -> dict[str, Any]:
    cfg = ctx.config
    notify = ctx.notifier.settings()
    kind, url = (("webhook", notify.webhook.url) if notify.webhook.enabled
                 else ("ntfy", notify.ntfy.url) if notify.ntfy.enabled else ("none", ""))
    return {"retention_days": cfg.logging.retention_days,
            "anonymize_clients": cfg.logging.anonymize_clients,
            "only_blocked": cfg.logging.only_blocked, "block_mode": cfg.dns.block_mode,
            "country": cfg.server.country,
            "notifications": {"kind": kind, "url": url}}
