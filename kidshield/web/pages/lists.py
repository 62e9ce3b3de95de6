"""The Lists page: the shipped lists, the file's and the dashboard's lists with their status
(rules, last update, the lines that could not be read), the categories a child's profile
blocks that no list provides, and adding, refreshing and removing a list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import KidshieldError
from kidshield.web import actions, list_actions, views
from kidshield.web.access import Permission, require_user
from kidshield.web.context import WebContext, web_context
from kidshield.web.pages.forms import EMPTY, FormState
from kidshield.web.pages.forms import text as _s
from kidshield.web.reasons import category_name
from kidshield.web.render import render, translator_for
from kidshield.web.routing import page


def lists_view_page(request: Request, ctx: WebContext, f: FormState = EMPTY,
                    status: int = 200) -> Response:
    t = translator_for(request, "parent")
    lists, gaps = views.lists_view(ctx), views.category_gaps_view(ctx)
    shown = ({lst["category"] for lst in lists} | {g["category"] for g in gaps}
             | set(list_actions.CATEGORIES))
    names = {c: category_name(t, c) for c in shown if c}
    choices = sorted(list_actions.CATEGORIES, key=lambda c: names[c])
    return render(request, "lists.html", status, lists=lists, gaps=gaps,
                  category_names=names, categories=choices, formats=list_actions.FORMATS,
                  gap_categories=[g["category"] for g in gaps], f=f,
                  message=None if f.problem else request.query_params.get("m"))


async def lists_page(request: Request) -> Response:
    require_user(request, Permission.HOUSEHOLD_READ)
    return lists_view_page(request, web_context(request))


async def lists_add(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_EDIT)
    form = await request.form()  # its CSRF token was checked by the route's rule
    try:
        await list_actions.add_list(ctx, user.name, _s(form, "name"), _s(form, "source"),
                                    _s(form, "category"), _s(form, "format") or "auto")
    except KidshieldError as exc:
        return lists_view_page(request, ctx, FormState.of(form).failed(exc), 422)
    return RedirectResponse("/lists?m=list_added", 303)


async def lists_remove(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_EDIT)
    await list_actions.remove_list(ctx, user.name, request.path_params["name"])
    return RedirectResponse("/lists?m=list_removed", 303)


async def lists_update(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_EDIT)
    form = await request.form()
    await actions.update_lists(ctx, user.name, _s(form, "name") or None)
    return RedirectResponse("/lists?m=updated", 303)


def list_routes() -> list[BaseRoute]:
    edit, post = Permission.HOUSEHOLD_EDIT, ("POST",)
    return [
        page("/lists", lists_page, Permission.HOUSEHOLD_READ),
        page("/lists", lists_add, edit, methods=post),
        page("/lists/update", lists_update, edit, methods=post),
        page("/lists/{name}/remove", lists_remove, edit, methods=post),
    ]
