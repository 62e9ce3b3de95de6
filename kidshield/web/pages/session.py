"""First run, sign-in and sign-out pages."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kidshield.errors import InputError
from kidshield.web import actions
from kidshield.web.api.v1 import set_session_cookie
from kidshield.web.auth import SESSION_COOKIE
from kidshield.web.context import client_ip, web_context
from kidshield.web.csrf import checked_form
from kidshield.web.errors import status_of
from kidshield.web.pages.forms import text as _s
from kidshield.web.render import render


# -- first run, sign in -----------------------------------------------------------------
async def setup_page(request: Request) -> Response:
    ctx = web_context(request)
    token = request.query_params.get("token", "")
    if ctx.setup_token is None:
        return RedirectResponse("/login", 303)
    return render(request, "setup.html", token=token, error=None)


async def setup_submit(request: Request) -> Response:
    ctx = web_context(request)
    form = await checked_form(request, ctx.secret)
    token = _s(form, "token")
    try:
        if _s(form, "password") != _s(form, "password2"):
            raise InputError("password: the two passwords are not the same")
        user = await run_in_threadpool(actions.setup_parent, ctx, token, _s(form, "name"),
                                       _s(form, "password"))
    except (InputError, actions.Refused) as exc:
        return render(request, "setup.html", 400, token=token, error=str(exc))
    response = RedirectResponse("/settings?m=welcome", 303)
    set_session_cookie(request, response, ctx.auth.start_session(user.id, ctx.now()))
    return response


async def login_page(request: Request) -> Response:
    ctx = web_context(request)
    if ctx.setup_token is not None:
        return render(request, "login.html", error=None, setup_needed=True)
    return render(request, "login.html", error=None, setup_needed=False,
                  next=request.query_params.get("next", "/"))


async def login_submit(request: Request) -> Response:
    ctx = web_context(request)
    form = await checked_form(request, ctx.secret)
    nxt = _s(form, "next", "/")
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    try:
        user = await run_in_threadpool(actions.login, ctx, _s(form, "name"),
                                       str(form.get("password", "")), client_ip(request))
    except actions.Refused as exc:
        return render(request, "login.html", status_of(exc), error=str(exc), setup_needed=False,
                      next=nxt)
    response = RedirectResponse(nxt, 303)
    set_session_cookie(request, response, ctx.auth.start_session(user.id, ctx.now()))
    return response


async def logout(request: Request) -> Response:
    ctx = web_context(request)
    await checked_form(request, ctx.secret)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        ctx.auth.end_session(cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def session_routes() -> list[BaseRoute]:
    return [
        Route("/setup", setup_page),
        Route("/setup", setup_submit, methods=["POST"]),
        Route("/login", login_page),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
