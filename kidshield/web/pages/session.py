"""First run, sign-in and sign-out pages."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError, TooManyRequests
from kidshield.web import actions
from kidshield.web.access import Permission
from kidshield.web.api.v1 import start_session
from kidshield.web.auth import DEVICE_COOKIE, SESSION_COOKIE
from kidshield.web.context import client_ip, web_context
from kidshield.web.errors import status_of
from kidshield.web.pages.forms import text as _s
from kidshield.web.render import render
from kidshield.web.routing import page


# -- first run, sign in -----------------------------------------------------------------
async def setup_page(request: Request) -> Response:
    ctx = web_context(request)
    token = request.query_params.get("token", "")
    if ctx.setup_token is None:
        return RedirectResponse("/login", 303)
    return render(request, "setup.html", token=token, error=None)


async def setup_submit(request: Request) -> Response:
    ctx = web_context(request)
    form = await request.form()  # the route's rule checked its CSRF token
    token = _s(form, "token")
    try:
        if _s(form, "password") != _s(form, "password2"):
            raise InputError("password: the two passwords are not the same")
        user = await run_in_threadpool(actions.setup_parent, ctx, token, _s(form, "name"),
                                       _s(form, "password"), client_ip(request))
    except (InputError, actions.Refused) as exc:
        return render(request, "setup.html", status_of(exc), token=token, error=str(exc))
    response = RedirectResponse("/welcome?m=welcome", 303)
    start_session(request, ctx, response, actions.SignIn(user, None))
    return response


async def login_page(request: Request) -> Response:
    ctx = web_context(request)
    if ctx.setup_token is not None:
        return render(request, "login.html", error=None, setup_needed=True)
    return render(request, "login.html", error=None, setup_needed=False,
                  next=request.query_params.get("next", "/"))


async def login_submit(request: Request) -> Response:
    ctx = web_context(request)
    form = await request.form()  # the route's rule checked its CSRF token
    nxt = _s(form, "next", "/")
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    try:
        signed = await run_in_threadpool(actions.login, ctx, _s(form, "name"),
                                         str(form.get("password", "")), client_ip(request),
                                         request.cookies.get(DEVICE_COOKIE))
    except actions.Refused as exc:
        page = render(request, "login.html", status_of(exc), error=str(exc),
                      setup_needed=False, next=nxt)
        if isinstance(exc, TooManyRequests) and exc.retry_after is not None:
            page.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return page
    response = RedirectResponse(nxt, 303)
    start_session(request, ctx, response, signed)
    return response


async def logout(request: Request) -> Response:
    ctx = web_context(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        ctx.auth.end_session(cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def session_routes() -> list[BaseRoute]:
    anyone, post = Permission.PUBLIC, ("POST",)
    return [
        page("/setup", setup_page, anyone),
        page("/setup", setup_submit, anyone, methods=post, max_body=16 * 1024),
        page("/login", login_page, anyone),
        page("/login", login_submit, anyone, methods=post, max_body=16 * 1024),
        page("/logout", logout, anyone, methods=post),
    ]
