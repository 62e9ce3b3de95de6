"""The profile editor (issue 16 item 3): the child's name and birth date (the age band follows
the birthday; a fixed band only when chosen on purpose), categories as checkboxes with a line
each and a warning when no list provides one, services as grouped toggles with their names,
daily time budgets with sliders, safe search, and the allow and block lists with what each
overrides ("always" or "free time only") and the learning sites a paused internet keeps.

Saving changes only what the form shows and what differs from the settings in force, through
the same dashboard edits as the API (kept over the configuration file, kidshield/state): a
page saved twice, or saved without touching a part, keeps everything else as it was."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.config import ProfileConfig
from kidshield.errors import InputError, KidshieldError
from kidshield.lists.loader import REPORTED_CATEGORY
from kidshield.policy.ages import BAND_DEFAULTS, AgeBand, SafeSearchMode
from kidshield.policy.domains import normalize_name
from kidshield.policy.model import Profile
from kidshield.web import actions, views
from kidshield.web.access import Permission, require_user
from kidshield.web.childpage import provided_categories
from kidshield.web.context import WebContext, web_context
from kidshield.web.errors import N_
from kidshield.web.pages.forms import EMPTY, FormState, lines
from kidshield.web.pages.forms import text as _s
from kidshield.web.pages.schedule_editor import (
    grid_view,
    labelled_week,
    schedule_routes,
    schedule_rows,
)
from kidshield.web.reasons import CATEGORY_HINTS, category_name
from kidshield.web.render import render, translator_for
from kidshield.web.routing import page

BEDTIME_PRESETS = ("19:30", "20:00", "20:30", "21:00", "21:30", "22:00", "22:30")
GROUP_ORDER = ("social", "messaging", "chat", "random_chat", "dating", "ai_chat", "video",
               "streaming", "gaming", "music", "shopping", "other")
GROUP_NAMES = {"social": N_("Social networks"), "messaging": N_("Messaging"),
               "chat": N_("Chat"), "random_chat": N_("Chat with strangers"),
               "dating": N_("Dating"), "ai_chat": N_("AI chat"), "video": N_("Video"),
               "streaming": N_("Streaming"), "gaming": N_("Games"), "music": N_("Music"),
               "shopping": N_("Shopping"), "other": N_("Other")}
LIST_FIELDS = ("allow", "allow_free_time", "learning_sites", "deny")


def base_categories(pc: ProfileConfig, band: AgeBand) -> frozenset[str]:
    """What the profile blocks before its own extra/unblocked changes."""
    if pc.blocked_categories is not None:
        return frozenset(pc.blocked_categories)
    return BAND_DEFAULTS[band].categories


def base_services(ctx: WebContext, pc: ProfileConfig, band: AgeBand) -> frozenset[str]:
    if pc.blocked_services is not None:
        return frozenset(pc.blocked_services)
    return ctx.runtime.engine.band_services(band)


def editor_view(ctx: WebContext, request: Request, prof: Profile) -> dict[str, Any]:
    t = translator_for(request, "parent")
    now = ctx.now()
    band = prof.band_at(now)
    pc = ctx.config.profiles[prof.id]
    settings = ctx.runtime.engine.settings(prof, band)
    provided = provided_categories(ctx)
    known = sorted(set(CATEGORY_HINTS) | set(settings.categories) | (provided - {
        REPORTED_CATEGORY}))
    categories = [{"id": c, "name": category_name(t, c),
                   "hint": t(CATEGORY_HINTS[c]) if c in CATEGORY_HINTS else "",
                   "blocked": c in settings.categories, "provided": c in provided,
                   "default": c in BAND_DEFAULTS[band].categories}
                  for c in known if c != REPORTED_CATEGORY]
    catalog = ctx.runtime.catalog
    groups: dict[str, list[dict[str, Any]]] = {}
    for svc in sorted(catalog.services.values(), key=lambda s: s.name.lower()):
        groups.setdefault(svc.group, []).append({
            "id": svc.id, "name": svc.name, "letter": svc.name[:1].upper(),
            "blocked": svc.id in settings.services, "min_age": svc.min_age})
    ordered = sorted(groups, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER
                                            else len(GROUP_ORDER), g))
    next_band = prof.band_change_at(now)
    return {
        "pc": pc, "band": band, "band_label": t(band.label),
        "next_band": None if next_band is None else {
            "day": next_band.astimezone(prof.tz).date().isoformat(),
            "band": t(prof.band_at(next_band).label)},
        "categories": categories,
        "service_groups": [(g, t(GROUP_NAMES.get(g, g.replace("_", " ").capitalize())),
                            groups[g]) for g in ordered],
        "budget_services": [(s.id, s.name) for s in sorted(catalog.services.values(),
                                                            key=lambda s: s.name.lower())],
        "service_names": {s.id: s.name for s in catalog.services.values()},
        "bands": [(b.value, t(b.label)) for b in AgeBand],
        "modes": [m.value for m in SafeSearchMode],
        "today": now.astimezone(prof.tz).date().isoformat(),
        "defaults": BAND_DEFAULTS[band],
    }


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"birth_date: {text!r} is not a date (YYYY-MM-DD)",
                         field="birth_date") from None


def changes_from_form(ctx: WebContext, prof: Profile, form: FormData) -> dict[str, Any]:
    """The settings the form changes: only fields it shows, only values that differ."""
    pc = ctx.config.profiles[prof.id]
    band = prof.band_at(ctx.now())
    wanted: dict[str, Any] = {}
    if "name" in form:
        name = _s(form, "name")
        if not name:
            raise InputError("name: the child's name", field="name")
        wanted["name"] = name
    if "has_shared" in form:  # a checkbox sends nothing when unticked
        wanted["shared"] = "shared" in form
    if "age_mode" in form:
        if _s(form, "age_mode") == "birth":
            born = _date(_s(form, "birth_date"))
            if born > ctx.now().date():
                raise InputError("birth_date: a day in the past", field="birth_date")
            wanted |= {"birth_date": born, "age_band": None}
        else:
            choice = _s(form, "age_band")
            if choice not in {b.value for b in AgeBand}:
                raise InputError("age_band: choose an age band", field="age_band")
            wanted |= {"age_band": choice, "birth_date": None}
    for key in ("safe_search", "youtube"):
        if key in form:
            value = _s(form, key)
            if value and value not in {m.value for m in SafeSearchMode}:
                raise InputError(f"{key}: strict, moderate or off", field=key)
            wanted[key] = value or None  # "": the age band's default
    settings = ctx.runtime.engine.settings(prof, band)
    if "has_categories" in form:
        extra, unblocked = toggled(
            {str(v) for v in form.getlist("cat")}, {str(v) for v in form.getlist("cat_shown")},
            settings.categories, base_categories(pc, band), pc.extra_blocked_categories,
            pc.unblocked_categories)
        wanted |= {"extra_blocked_categories": extra, "unblocked_categories": unblocked}
    if "has_services" in form:
        extra, unblocked = toggled(
            {str(v) for v in form.getlist("svc")}, set(ctx.runtime.catalog.services),
            settings.services, base_services(ctx, pc, band), pc.extra_blocked_services,
            pc.unblocked_services)
        wanted |= {"extra_blocked_services": extra, "unblocked_services": unblocked}
    if "has_budgets" in form:
        wanted["budgets"] = _budgets(ctx, form)
    for key in LIST_FIELDS:
        if key in form:
            try:
                wanted[key] = [normalize_name(d) for d in lines(_s(form, key))]
            except InputError as exc:
                raise InputError(f"{key}: {exc}", field=key) from None
    current = pc.model_dump(mode="python")
    changed: dict[str, Any] = {}
    for key, value in wanted.items():
        now_value = current.get(key)
        if isinstance(value, list) and isinstance(now_value, list):
            if list(value) == list(now_value):
                continue
        elif value == now_value:
            continue
        changed[key] = value.isoformat() if isinstance(value, date) else value
    return changed


def toggled(checked: set[str], shown: set[str], blocked_now: frozenset[str],
            base: frozenset[str], extra: list[str], unblocked: list[str],
            ) -> tuple[list[str], list[str]]:
    """The profile's extra and unblocked entries after the toggles: the switches shown decide
    for themselves, the rest stays as it is; an entry the parent made stays even when the
    age band blocks the same by default today (the child grows, the choice should not go)."""
    wanted = (set(blocked_now) - shown) | (checked & shown)
    keep_extra = [s for s in extra if s in wanted]
    keep_unblocked = [s for s in unblocked if s not in wanted]
    new_extra = sorted(s for s in wanted - base if s not in keep_extra)
    new_unblocked = sorted(s for s in (base - wanted) if s not in keep_unblocked)
    return keep_extra + new_extra, keep_unblocked + new_unblocked


def _budgets(ctx: WebContext, form: FormData) -> dict[str, int]:
    services = ctx.runtime.catalog.services
    removed = {str(v) for v in form.getlist("budget_remove")}
    found: dict[str, int] = {}
    for key, value in form.multi_items():
        if key.startswith("budget.") and isinstance(value, str):
            service = key[len("budget."):]
            if service in removed:
                continue
            found[service] = _minutes(value, f"budget.{service}")
    new = _s(form, "new_budget_service")
    if new:
        if new not in services:
            raise InputError("new_budget_service: choose a service", field="new_budget_service")
        found[new] = _minutes(_s(form, "new_budget_minutes", "60"), "new_budget_minutes")
    return dict(sorted(found.items()))


def _minutes(text: str, name: str) -> int:
    try:
        minutes = int(text)
    except ValueError:
        raise InputError(f"{name}: minutes a day, from 0 to 1440", field=name) from None
    if not 0 <= minutes <= 1440:
        raise InputError(f"{name}: minutes a day, from 0 to 1440", field=name)
    return minutes


def editor_page(request: Request, ctx: WebContext, prof: Profile, f: FormState = EMPTY,
                status: int = 200, grid_form: FormState = EMPTY) -> Response:
    problem = f.problem or grid_form.problem
    return render(request, "profile.html", status, p=views.profile_view(ctx, prof),
                  week=labelled_week(ctx, prof), presets=BEDTIME_PRESETS,
                  e=editor_view(ctx, request, prof), f=f,
                  schedules=schedule_rows(ctx, prof),
                  g=grid_view(ctx, prof, request, grid_form),
                  message=None if problem else request.query_params.get("m"), error=None)


async def profile_page(request: Request) -> Response:
    ctx = web_context(request)
    require_user(request, Permission.HOUSEHOLD_READ)
    return editor_page(request, ctx, actions.profile(ctx, request.path_params["pid"]))


async def profile_save(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    prof = actions.profile(ctx, request.path_params["pid"])
    try:
        changes = changes_from_form(ctx, prof, form)
        if changes:
            await actions.edit_profile(ctx, user.name, prof.id, changes)
    except KidshieldError as exc:
        return editor_page(request, ctx, prof, FormState.of(form).failed(exc), 422)
    return RedirectResponse(f"/profiles/{prof.id}?m={'saved' if changes else 'unchanged'}"
                            "#set-h", 303)


def profile_editor_routes() -> list[BaseRoute]:
    return [*schedule_routes(),
            page("/profiles/{pid}", profile_page, Permission.HOUSEHOLD_READ),
            page("/profiles/{pid}", profile_save, Permission.HOUSEHOLD_EDIT, methods=("POST",))]
