"""The block page: plain-HTTP requests for blocked names reach us (the DNS answered with our
address) and the child reads why, in words for their age band, with a button to ask for access
and the helplines for their country (COP-1, COP-8)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from kidshield.education.lessons import Lesson, default_library
from kidshield.errors import InputError
from kidshield.policy.ages import AgeBand
from kidshield.policy.domains import normalize_name
from kidshield.policy.helplines import Helpline, HelplineBook, Topic, topic_for_block
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Decision, Reason
from kidshield.web import actions
from kidshield.web.access import Permission
from kidshield.web.context import WebContext, client_ip, web_context
from kidshield.web.errors import status_of
from kidshield.web.render import render
from kidshield.web.routing import ErrorPage, page
from kidshield.web.texts import FORM_TOO_LONG, QUESTION_TOO_LONG, block_text, door_text

CHILD_HOST = "kidshield.home.arpa"
ASK_PATH = "/.well-known/kidshield/ask"
_LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal", ".localhost")


def request_host(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


def is_foreign_host(host: str) -> bool:
    """True when the browser asked for some other site's name: the DNS sent it to us because
    the name is blocked. Our own addresses and local names show the app itself."""
    if not host or host == "localhost" or host == CHILD_HOST or host.endswith(_LOCAL_SUFFIXES):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return False


def helpline_book(ctx: WebContext) -> HelplineBook:
    """The helplines in force now (a reload with new [[helplines]] is seen at once)."""
    return HelplineBook(tuple(ctx.runtime.catalog.helplines), ctx.config.server.country)


def helplines(ctx: WebContext, profile: Profile, topic: Topic = Topic.GENERAL,
              language: str | None = None) -> tuple[Helpline, ...]:
    """The helplines for this child, the most fitting for their age and ``topic`` first (and
    among equals, those answering in the page's language)."""
    return helpline_book(ctx).for_profile(profile, ctx.now(), topic, language)


def reader_language(request: Request) -> str:
    """The browser's first language (it picks between a country's services, e.g. Belgium's
    Dutch and French lines), whether or not the page itself is translated into it."""
    first = request.headers.get("accept-language", "").split(",")[0]
    return first.split(";")[0].strip()


def child_profile(ctx: WebContext, request: Request) -> Profile:
    return ctx.runtime.profile_for_client(client_ip(request))


def service_name(ctx: WebContext, decision: Decision) -> str | None:
    if decision.service and decision.service in ctx.runtime.catalog.services:
        return ctx.runtime.catalog.services[decision.service].name
    return None


def block_response(request: Request, ctx: WebContext, name: str, decision: Decision,
                   profile: Profile, preview: bool = False) -> Response:
    from kidshield.web.render import translator_for

    t = translator_for(request)
    if decision.action is not Action.BLOCK:
        return render(request, "child/unblocked.html", name=name, profile=profile,
                      helplines=helplines(ctx, profile), granted=decision.reason in (
                          Reason.GRANT, Reason.ALLOW_LIST, Reason.PAUSED))
    text = block_text(decision, name, service_name(ctx, decision), t)
    topic, language = topic_for_block(decision), reader_language(request)
    if preview and decision.band is not None and decision.band in AgeBand._value2member_map_:
        # a parent previewing a band sees the helplines a child of that band would see
        lines = helpline_book(ctx).choose(topic, band=AgeBand(decision.band), language=language)
    else:
        lines = helplines(ctx, profile, topic, language)
    return render(request, "child/block.html", name=name, text=text, profile=profile,
                  band=decision.band, decision=decision, helplines=lines,
                  ask_path=ASK_PATH, preview=preview, child_host=CHILD_HOST,
                  lesson=lesson_for(ctx, decision, t.lang))


def lesson_for(ctx: WebContext, decision: Decision, lang: str = "en") -> Lesson | None:
    """The lesson that fits this block, in the page's language (a chat site: the lesson on
    talking to strangers; a used-up time budget: the one on screen time)."""
    group = None
    if decision.service and decision.service in ctx.runtime.catalog.services:
        group = ctx.runtime.catalog.services[decision.service].group
    return default_library().lesson_for_block(decision.band or "", decision.category, group,
                                              decision.reason.value, lang=lang)


async def block_page(request: Request) -> Response:
    ctx = web_context(request)
    try:
        name = normalize_name(request_host(request))
    except InputError:
        name = request_host(request)
    profile = child_profile(ctx, request)
    decision = actions.decide_name(ctx, profile, name)
    response = block_response(request, ctx, name, decision, profile)
    response.status_code = 403 if decision.action is Action.BLOCK else 200
    return response


async def ask(request: Request) -> Response:
    """A child asks for a blocked name (from the block page or the child page)."""
    ctx = web_context(request)
    form = await request.form()  # the route's rule checked its CSRF token
    profile = child_profile(ctx, request)
    domain = str(form.get("name", "")).strip()
    try:
        created = await actions.create_request(ctx, profile, domain,
                                               str(form.get("message", "")), client_ip(request))
    except InputError as exc:
        return render(request, "child/asked.html", 400, error=str(exc), profile=profile,
                      helplines=helplines(ctx, profile), child_host=CHILD_HOST)
    except actions.Refused as exc:
        return render(request, "child/asked.html", status_of(exc), error=str(exc), profile=profile,
                      helplines=helplines(ctx, profile), child_host=CHILD_HOST)
    return render(request, "child/asked.html", request_item=created, profile=profile,
                  helplines=helplines(ctx, profile), child_host=CHILD_HOST,
                  on_block_host=is_foreign_host(request_host(request)))


def child_errors(too_large: str = FORM_TOO_LONG) -> ErrorPage:
    """The answer of a child's form to a request refused at the door (``Rule.child_error``),
    with the door's status, in the child's language: they were the dashboard's adult error
    page in English ("413 the body is larger than 8192 bytes", the family walk, session 16;
    "400 a NUL character ... is not allowed", a stale form's "CSRF token", a 405, session
    16b). What the child typed is lost with the refused body, so the page says why.
    ``too_large``: what to say of a body past the form's size."""

    async def child_error(request: Request, exc: Exception) -> Response:
        status = status_of(exc)
        text = door_text(status, exc, too_large)
        ctx = web_context(request)
        profile = child_profile(ctx, request)
        page = render(request, "child/asked.html", status, error=text, profile=profile,
                      helplines=helplines(ctx, profile), child_host=CHILD_HOST,
                      on_block_host=is_foreign_host(request_host(request)))
        if isinstance(exc, HTTPException) and exc.headers:
            page.headers.update(exc.headers)
        return page

    return child_error


async def block_page_anyway(request: Request, _exc: Exception) -> Response:
    """A blocked site's address with a NUL in its query, or a form of the blocked site
    posted to it: the child sees the block page all the same (not the dashboard's 400 or
    405); nothing of the request is read."""
    return await block_page(request)


def block_routes() -> list[BaseRoute]:
    """Routes of the app served for foreign host names (see ``server.HostDispatch``)."""
    return [
        page(ASK_PATH, ask, Permission.PUBLIC, methods=("POST",), max_body=8 * 1024,
             child_error=child_errors(QUESTION_TOO_LONG)),
        page("/{path:path}", block_page, Permission.PUBLIC, child_error=block_page_anyway),
    ]


RECENT = timedelta(hours=24)
