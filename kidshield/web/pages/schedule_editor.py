"""Schedules on the profile page (issue 16 item 3): the week grid labelled and coloured per
kind (bedtime, blocked hours, "only allowed" hours), the list of schedules, and a week-grid
editor that paints one schedule's hours (homework, school, an "allow only" window...).

Saving replaces the schedules of the painted name by the fewest schedules covering the
painted hours (``web/schedule_grid.py``) and keeps every other schedule as it is, through
the same dashboard edits as every profile change (kept over the configuration file)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError, KidshieldError
from kidshield.policy.model import Profile
from kidshield.web import actions
from kidshield.web.access import Permission, require_user
from kidshield.web.context import WebContext, web_context
from kidshield.web.pages.forms import EMPTY, FormState
from kidshield.web.pages.forms import text as _s
from kidshield.web.routing import page
from kidshield.web.schedule_grid import cells_of, schedules_from_cells, window_of

KINDS = ("block", "allow_only")
MAX_NAME = 40


def labelled_week(ctx: WebContext, prof: Profile) -> list[list[dict[str, str]]]:
    """7 days x 24 hours: what the clock does in each hour and which schedule does it:
    ``kind`` "bedtime", "block" (blocked in the window), "allow_only" (blocked outside the
    window) or ""; ``label`` the schedules' names."""
    now = ctx.now()
    settings = ctx.runtime.engine.settings(prof, prof.band_at(now))
    grid = [[{"kind": "", "label": ""} for _ in range(24)] for _ in range(7)]
    for rule in settings.schedules:
        inside = cells_of(rule.window)
        if rule.action == "allow_only":
            marked = {(d, h) for d in range(7) for h in range(24)} - inside
            kind = "allow_only"
        else:
            marked, kind = inside, "bedtime" if rule.bedtime else "block"
        for day, hour in marked:
            cell = grid[day][hour]
            if not cell["kind"] or kind == "bedtime":
                cell["kind"] = kind
            cell["label"] = ", ".join(filter(None, [cell["label"], rule.name]))
    return grid


def schedule_rows(ctx: WebContext, prof: Profile) -> list[dict[str, Any]]:
    """The profile's own schedules (as the configuration in force writes them)."""
    pc = ctx.config.profiles[prof.id]
    rows = []
    for sc in pc.schedules:
        data = sc.model_dump(by_alias=True)
        rows.append({"name": sc.name, "kind": sc.action, "when": window_of(data).label(),
                     "scope": [*sc.services, *sc.categories]})
    return rows


def grid_view(ctx: WebContext, prof: Profile, request: Request,
              f: FormState = EMPTY) -> dict[str, Any]:
    """The grid editor: the schedule chosen with ``?schedule=NAME`` (its hours painted), or a
    new one."""
    pc = ctx.config.profiles[prof.id]
    chosen = request.query_params.get("schedule", "")
    mine = [sc for sc in pc.schedules if sc.name == chosen]
    cells: set[tuple[int, int]] = set()
    for sc in mine:
        cells |= cells_of(window_of(sc.model_dump(by_alias=True)))
    painted = ({f"{d}:{h}" for d, h in cells} if not f.submitted
               else set(f.values("cell")))
    return {"original": chosen if mine else "",
            "label": f.value("label", chosen if mine else ""),
            "kind": f.value("kind", mine[0].action if mine else "block"),
            "painted": painted, "f": f}


def _cells(form: FormData) -> set[tuple[int, int]]:
    cells = set()
    for value in form.getlist("cell"):
        day, _sep, hour = str(value).partition(":")
        if not (day.isdigit() and hour.isdigit() and int(day) < 7 and int(hour) < 24):
            raise InputError(f"cell: {value!r} is not an hour of the week", field="cell")
        cells.add((int(day), int(hour)))
    return cells


def painted_schedules(ctx: WebContext, prof: Profile, form: FormData) -> list[dict[str, Any]]:
    """The profile's schedules after the grid form: the painted name's replaced, the rest
    kept in their order."""
    pc = ctx.config.profiles[prof.id]
    label = " ".join(_s(form, "label").split())
    original = _s(form, "original")
    kind = _s(form, "kind", "block")
    if not label or len(label) > MAX_NAME:
        raise InputError(f"label: a name for the schedule, like homework (at most {MAX_NAME} "
                         "characters)", field="label")
    if kind not in KINDS:
        raise InputError("kind: blocked hours or only-allowed hours", field="kind")
    if label != original and any(sc.name == label for sc in pc.schedules):
        raise InputError(f"label: there is already a schedule called {label!r}; choose it "
                         "from the list to change it", field="label")
    cells = _cells(form)
    old = [sc for sc in pc.schedules if sc.name == original] if original else []
    scope = {"services": old[0].services, "categories": old[0].categories} if old else None
    kept: list[dict[str, Any]] = []
    placed = False
    new = schedules_from_cells(cells, label, kind, scope)
    for sc in pc.schedules:
        if original and sc.name == original:
            if not placed:
                kept += new  # where the old one was
                placed = True
            continue
        kept.append(sc.model_dump(by_alias=True, exclude_defaults=True) | {"name": sc.name})
    if not placed:
        kept += new
    return kept


async def schedule_grid_save(request: Request) -> Response:
    from kidshield.web.pages.profile_editor import editor_page

    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    prof = actions.profile(ctx, request.path_params["pid"])
    try:
        schedules = painted_schedules(ctx, prof, form)
        await actions.edit_profile(ctx, user.name, prof.id, {"schedules": schedules})
    except KidshieldError as exc:
        return editor_page(request, ctx, prof, grid_form=FormState.of(form).failed(exc),
                           status=422)
    label = " ".join(_s(form, "label").split())
    return RedirectResponse(f"/profiles/{prof.id}?m=saved&schedule={quote(label)}#sched-h",
                            303)


async def schedule_remove(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    prof = actions.profile(ctx, request.path_params["pid"])
    name = _s(form, "name")
    pc = ctx.config.profiles[prof.id]
    if not any(sc.name == name for sc in pc.schedules):
        raise InputError(f"name: no schedule called {name!r}", field="name")
    kept = [sc.model_dump(by_alias=True, exclude_defaults=True) | {"name": sc.name}
            for sc in pc.schedules if sc.name != name]
    await actions.edit_profile(ctx, user.name, prof.id, {"schedules": kept})
    return RedirectResponse(f"/profiles/{prof.id}?m=saved#sched-h", 303)


def schedule_routes() -> list[BaseRoute]:
    edit, post = Permission.HOUSEHOLD_EDIT, ("POST",)
    return [page("/profiles/{pid}/schedules/grid", schedule_grid_save, edit, methods=post),
            page("/profiles/{pid}/schedules/remove", schedule_remove, edit, methods=post)]
