"""Web pages for learning: lessons per band (/learn), the workshop viewer (/workshop) and the
COP self-assessment form (/assess).

Lessons and workshops are public pages (children read them without signing in). Quiz results
are stored per child profile: the profile is worked out on the server from the device's address
(the same mapping the DNS server uses), never sent by the page, and a device only ever writes
its own profile's progress. The progress overview needs the parent role.

Styles and the quiz script are files under ``/learn/assets`` so the server's
Content-Security-Policy (no inline script or style) lets them work; saving a quiz result is a
CSRF-protected write (the page carries the token).

``routes(site)`` gives the routes with their ``EducationSite`` bound in (progress storage,
how a device address maps to a profile, the country for helplines, the server's secret key for
CSRF tokens); an empty site works with no progress storage and no country helplines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from jinja2 import Environment
from markdown_it import MarkdownIt
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kidshield.education.assess import ANSWER_LABELS, ANSWERS, assess, parse_answers, questionnaire
from kidshield.education.assess import to_markdown as assess_markdown
from kidshield.education.lessons import (
    BAND_LABELS,
    BANDS,
    TOPIC_LABELS,
    Lesson,
    default_library,
)
from kidshield.education.progress import ProgressStore
from kidshield.education.scorecard import STATIC, templates
from kidshield.education.tabletop import scenarios
from kidshield.errors import KidshieldError
from kidshield.policy.ages import AgeBand
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import Helpline, HelplineBook, HelplineProvider
from kidshield.web.access import require_role
from kidshield.web.csrf import CSRF_HEADER, csrf_token, valid
from kidshield.web.feature import bind


@dataclass
class EducationSite:
    progress: ProgressStore | None = None
    profile_for: Callable[[str], str | None] = field(default=lambda _address: None)
    country: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # the helplines in force (the operator's own too); None: the shipped ones for ``country``
    helplines: HelplineProvider | None = None
    secret: bytes | None = None  # the server's CSRF key; without it, progress is not saved


@cache
def _env() -> Environment:
    return templates()


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def _page(name: str, **context: object) -> HTMLResponse:
    return HTMLResponse(_env().get_template(name).render(**context))


def _profile(request: Request, site: EducationSite) -> str | None:
    client = request.client.host if request.client else ""
    return site.profile_for(client) if client else None


def _helplines(site: EducationSite, band: str) -> tuple[Helpline, ...]:
    """The helplines for a lesson's age band (the served app's, with the operator's own)."""
    book = site.helplines() if site.helplines is not None else HelplineBook(
        tuple(default_catalog().helplines), site.country)
    age_band = AgeBand(band) if band in AgeBand._value2member_map_ else None
    return book.choose(band=age_band)[:6]


async def learn_index(request: Request, site: EducationSite) -> Response:
    lib = default_library()
    profile = _profile(request, site)
    done: set[tuple[str, str]] = set()
    if site.progress is not None and profile is not None:
        done = {(p.band, p.topic) for p in site.progress.for_profile(profile)}
    bands = [(b, BAND_LABELS[b], lib.band(b)) for b in (*BANDS, "guide")]
    return _page("learn_index.html", bands=bands, done=done, topic_labels=TOPIC_LABELS)


def _lesson(band: str, topic: str) -> Lesson:
    lesson = default_library().get(band, topic)
    if lesson is None:
        raise HTTPException(404, "no such lesson")
    return lesson


async def lesson_page(request: Request, site: EducationSite) -> Response:
    band = request.path_params["band"]
    lesson = _lesson(band, request.path_params["topic"])
    token = csrf_token(request, site.secret) if site.secret is not None else ""
    page = _page("lesson.html", lesson=lesson, body=_markdown().render(lesson.body),
                 band_label=BAND_LABELS[band], topic_label=TOPIC_LABELS.get(lesson.topic, ""),
                 helplines=_helplines(site, band), csrf=token)
    page.headers["Cache-Control"] = "no-store"  # the token belongs to this browser
    return page


async def band_page(request: Request, site: EducationSite) -> Response:
    band = request.path_params["band"]
    if band not in BAND_LABELS:
        raise HTTPException(404, "no such age group")
    lib = default_library()
    return _page("learn_index.html", bands=[(band, BAND_LABELS[band], lib.band(band))],
                 done=set(), topic_labels=TOPIC_LABELS)


async def save_progress(request: Request, site: EducationSite) -> Response:
    """The lesson page's script saves a quiz result with the page's CSRF token: another site
    cannot write a child's progress through the child's browser."""
    if site.secret is None or not valid(request, site.secret, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header: reload the lesson")
    lesson = _lesson(request.path_params["band"], request.path_params["topic"])
    try:
        data = json.loads(await request.body())
        score, total = int(data["score"]), int(data["total"])
    except (ValueError, KeyError, TypeError):
        raise HTTPException(400, 'send {"score": n, "total": n}') from None
    total_questions = len(lesson.header.quiz)
    if total != total_questions or not 0 <= score <= total:
        raise HTTPException(400, f"score must be 0..{total_questions} of {total_questions}")
    profile = _profile(request, site)
    if site.progress is None or profile is None:
        return JSONResponse({"saved": False})  # unknown device: the page keeps the result
    site.progress.record(profile, lesson.band, lesson.topic, score, total, site.clock())
    return JSONResponse({"saved": True})


async def progress_page(request: Request, site: EducationSite) -> Response:
    require_role(request, "parent")
    rows = site.progress.all() if site.progress is not None else []
    return _page("progress.html", rows=rows)


async def workshop_index(_request: Request, site: EducationSite) -> Response:
    return _page("workshop_index.html", scenarios=list(scenarios().values()))


async def workshop_page(request: Request, site: EducationSite) -> Response:
    found = scenarios().get(request.path_params["scenario"])
    if found is None:
        raise HTTPException(404, "no such scenario")
    return _page("workshop.html", s=found)


async def assess_form(_request: Request, site: EducationSite) -> Response:
    return _page("assess_form.html", q=questionnaire(), answers=ANSWERS, labels=ANSWER_LABELS)


async def assess_submit(request: Request, site: EducationSite) -> Response:
    form = await request.form()
    chosen = [str(v) for v in form.getlist("sections")]
    data: dict[str, dict[str, str]] = {sid: {} for sid in chosen}
    for key, value in form.multi_items():
        sid, _, cop = key.partition(".")
        if sid in data and cop:
            data[sid][cop] = str(value)
    if not chosen:
        raise HTTPException(400, "choose at least one section")
    try:
        report = assess(parse_answers(data, "form"), str(form.get("organisation", ""))[:120])
    except KidshieldError as exc:
        raise HTTPException(400, str(exc)) from None
    if request.query_params.get("format") == "md":
        return PlainTextResponse(assess_markdown(report), media_type="text/markdown")
    return _page("assess_report.html", report=report, labels=ANSWER_LABELS)


def routes(site: EducationSite) -> list[BaseRoute]:
    return [
        # before /learn/{band}/{topic}, which would take the asset names for a lesson
        Mount("/learn/assets", StaticFiles(directory=STATIC), name="learn-assets"),
        Route("/learn", bind(learn_index, site)),
        Route("/learn/progress", bind(progress_page, site)),
        Route("/learn/{band}", bind(band_page, site)),
        Route("/learn/{band}/{topic}", bind(lesson_page, site)),
        Route("/learn/{band}/{topic}/progress", bind(save_progress, site), methods=["POST"]),
        Route("/workshop", bind(workshop_index, site)),
        Route("/workshop/{scenario}", bind(workshop_page, site)),
        Route("/assess", bind(assess_form, site)),
        Route("/assess", bind(assess_submit, site), methods=["POST"]),
    ]
