"""Web pages for learning: lessons per band (/learn), the workshop viewer (/workshop) and the
COP self-assessment form (/assess).

Lessons and workshops are public pages (children read them without signing in), in the
visitor's language (``?lang=``, the language cookie or the browser's choice), with their
styles and scripts served as files (``/learn/assets``) so that they work under the server's
Content-Security-Policy. The quiz is a form: the server marks it (so it works without
JavaScript; with it, the page asks for the marks as JSON and stays put) and stores the result
per child profile. The form carries the CSRF token: another site cannot write a child's
progress. The profile is worked out on the server from the device's address (the same mapping
the DNS server uses), never sent by the page, so a device only ever writes its own profile's
progress. The progress overview needs the parent role.

``routes(site)`` gives the routes with their ``EducationSite`` bound in (progress storage, how a
device address maps to a profile, the helplines in force, the server's CSRF key).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markdown_it.token import Token
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from kidshield.education.assess import (
    ANSWER_LABELS,
    ANSWERS,
    assess,
    parse_answers,
    parse_drill,
    pointer_kind,
    questionnaire,
)
from kidshield.education.assess import to_markdown as assess_markdown
from kidshield.education.choices import choice_number
from kidshield.education.lessons import (
    BAND_LABELS,
    BANDS,
    TOPIC_LABELS,
    Lesson,
    default_library,
)
from kidshield.education.linebreaks import break_between
from kidshield.education.progress import ProgressStore
from kidshield.education.tabletop import paragraphs, scenarios
from kidshield.errors import KidshieldError
from kidshield.policy.ages import AgeBand
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import Helpline, HelplineBook, HelplineProvider
from kidshield.web.access import Permission
from kidshield.web.errors import status_of
from kidshield.web.feature import bind
from kidshield.web.i18n import Translator
from kidshield.web.render import render, translator_for
from kidshield.web.routing import FORM, Assets, ErrorPage, page
from kidshield.web.texts import door_text

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ASSETS = "/learn/assets"


@dataclass
class EducationSite:
    progress: ProgressStore | None = None
    profile_for: Callable[[str], str | None] = field(default=lambda _address: None)
    country: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # the helplines in force (the operator's own too); None: the shipped ones for ``country``
    helplines: HelplineProvider | None = None


@cache
def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["paragraphs"] = paragraphs
    return env


def _softbreak(_renderer: object, tokens: Sequence[Token], idx: int, *_rest: object) -> str:
    """A wrapped line inside a paragraph: nothing between two Chinese characters (a browser
    would show a space), a newline otherwise."""
    before = tokens[idx - 1].content if idx > 0 else ""
    after = tokens[idx + 1].content if idx + 1 < len(tokens) else ""
    return "" if break_between(before, after) == "" else "\n"


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.add_render_rule("softbreak", _softbreak)
    return md


def _page(request: Request, name: str, status: int = 200, **context: object) -> Response:
    return render(request, name, status, templates=templates(), assets=ASSETS, **context)


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
    lang = translator_for(request).lang
    profile = _profile(request, site)
    done: set[tuple[str, str]] = set()
    if site.progress is not None and profile is not None:
        done = {(p.band, p.topic) for p in site.progress.for_profile(profile)}
    bands = [(b, BAND_LABELS[b], lib.band(b, lang)) for b in (*BANDS, "guide")]
    return _page(request, "learn_index.html", bands=bands, done=done, topic_labels=TOPIC_LABELS)


def _lesson(request: Request) -> Lesson:
    lang = translator_for(request).lang
    lesson = default_library().get(request.path_params["band"], request.path_params["topic"],
                                   lang)
    if lesson is None:
        raise HTTPException(404, "no such lesson")
    return lesson


def _lesson_page(request: Request, site: EducationSite, lesson: Lesson, status: int = 200,
                 **marks: object) -> Response:
    return _page(request, "lesson.html", status, lesson=lesson,
                 body=_markdown().render(lesson.body), band_label=BAND_LABELS[lesson.band],
                 topic_label=TOPIC_LABELS.get(lesson.topic, ""),
                 helplines=_helplines(site, lesson.band), **marks)


async def lesson_page(request: Request, site: EducationSite) -> Response:
    return _lesson_page(request, site, _lesson(request))


async def band_page(request: Request, site: EducationSite) -> Response:
    band = request.path_params["band"]
    if band not in BAND_LABELS:
        raise HTTPException(404, "no such age group")
    lib = default_library()
    lang = translator_for(request).lang
    return _page(request, "learn_index.html", bands=[(band, BAND_LABELS[band],
                                                      lib.band(band, lang))],
                 done=set(), topic_labels=TOPIC_LABELS)


def _picked(form: FormData, lesson: Lesson) -> dict[int, int]:
    """The choice per question number; questions left open, or answered with something that
    is not one of the choices, are left out."""
    picked: dict[int, int] = {}
    for i, q in enumerate(lesson.header.quiz):
        number = choice_number(form.get(f"q{i}"), 0, len(q.choices) - 1)
        if number is not None:
            picked[i] = number
    return picked


def quiz_message(t: Translator, right: int, total: int, answered: int) -> str:
    if answered < total:
        return t.ngettext("Answer all {n} question to finish the quiz.",
                          "Answer all {n} questions to finish the quiz.", total, n=total)
    text = t.ngettext("{right} of {n} right.", "{right} of {n} right.", total, right=right,
                      n=total)
    tail = t("Well done!") if right == total else t("Look at the notes and try again.")
    return f"{text} {tail}"


async def quiz_answers(request: Request, site: EducationSite) -> Response:
    """The quiz form, marked by the server; a complete attempt is saved for the device's
    profile (best score, attempts). The route's rule refuses it without the page's CSRF
    token or from another site."""
    lesson = _lesson(request)
    form = await request.form()
    picked = _picked(form, lesson)
    quiz = lesson.header.quiz
    correct = [None if i not in picked else picked[i] == q.answer for i, q in enumerate(quiz)]
    right = sum(1 for c in correct if c)
    complete = len(picked) == len(quiz)
    profile = _profile(request, site)
    saved = False
    if complete and site.progress is not None and profile is not None:
        site.progress.record(profile, lesson.band, lesson.topic, right, len(quiz),
                             site.clock())
        saved = True
    message = quiz_message(translator_for(request), right, len(quiz), len(picked))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"right": right, "total": len(quiz), "correct": correct,
                             "complete": complete, "saved": saved, "message": message})
    return _lesson_page(request, site, lesson, picked=picked, correct=correct,
                        result_message=message)


def quiz_refused(site: EducationSite) -> ErrorPage:
    """A quiz form the door refused (a stale page's token, a NUL, a body past its size) or
    the quiz's address opened: the lesson again, saying why in the child's language, with
    the door's status (it was the dashboard's adult error page; learn.js posts the form
    itself when its fetch fails, "to let the server's page say what went wrong"). The
    script's own JSON request gets the JSON error."""

    async def refused(request: Request, exc: Exception) -> Response:
        if "application/json" in request.headers.get("accept", ""):
            raise exc
        try:
            lesson = _lesson(request)
        except HTTPException:
            raise exc from None
        status = status_of(exc)
        text = "" if status == 405 else translator_for(request)(door_text(status, exc))
        page = _lesson_page(request, site, lesson, status, result_message=text)
        if isinstance(exc, HTTPException) and exc.headers:
            page.headers.update(exc.headers)
        return page

    return refused


async def progress_page(request: Request, site: EducationSite) -> Response:
    rows = site.progress.all() if site.progress is not None else []
    return _page(request, "progress.html", rows=rows)


async def workshop_index(request: Request, _site: EducationSite) -> Response:
    lang = translator_for(request).lang
    return _page(request, "workshop_index.html", scenarios=list(scenarios(lang).values()))


async def workshop_page(request: Request, _site: EducationSite) -> Response:
    """A scenario in the page's language (in English, marked so, where it is not
    translated)."""
    found = scenarios(translator_for(request).lang).get(request.path_params["scenario"])
    if found is None:
        raise HTTPException(404, "no such scenario")
    return _page(request, "workshop.html", s=found)


async def assess_form(request: Request, _site: EducationSite) -> Response:
    return _page(request, "assess_form.html", q=questionnaire(), answers=ANSWERS,
                 labels=ANSWER_LABELS)


async def assess_submit(request: Request, site: EducationSite) -> Response:
    form = await request.form()  # its CSRF token was checked by the route's rule
    chosen = [str(v) for v in form.getlist("sections")]
    data: dict[str, dict[str, str]] = {sid: {} for sid in chosen}
    for key, value in form.multi_items():
        sid, _, cop = key.partition(".")
        if sid in data and cop and str(value):  # "" is the form's "not answered"
            data[sid][cop] = str(value)
    if not chosen:
        raise HTTPException(400, "choose at least one section")
    try:
        drill = None
        pasted = str(form.get("drill", "")).strip()
        if pasted:
            try:
                drill = parse_drill(json.loads(pasted), "the pasted drill results")
            except ValueError:
                raise HTTPException(400, "the pasted drill results are not JSON: paste what "
                                         "'kidshield drill --json' prints") from None
        report = assess(parse_answers(data, "form"), str(form.get("organisation", ""))[:120],
                        drill)
    except KidshieldError as exc:
        raise HTTPException(400, str(exc)) from None
    if request.query_params.get("format") == "md":
        return PlainTextResponse(assess_markdown(report), media_type="text/markdown")
    return _page(request, "assess_report.html", report=report, labels=ANSWER_LABELS,
                 pointer_kind=pointer_kind)


def routes(site: EducationSite) -> list[BaseRoute]:
    """Lessons, workshops and the self-assessment are for anyone; the progress of the
    household's children is for their parents."""
    anyone, post = Permission.PUBLIC, ("POST",)
    return [
        # before /learn/{band}/{topic}, which would take the asset names for a lesson
        Assets(ASSETS, STATIC, name="learn-assets"),
        page("/learn", bind(learn_index, site), anyone),
        page("/learn/progress", bind(progress_page, site), Permission.LEARNING),
        page("/learn/{band}", bind(band_page, site), anyone),
        page("/learn/{band}/{topic}", bind(lesson_page, site), anyone),
        page("/learn/{band}/{topic}/quiz", bind(quiz_answers, site), anyone, methods=post,
             bodies=(FORM,), max_body=16 * 1024, child_error=quiz_refused(site)),
        page("/workshop", bind(workshop_index, site), anyone),
        page("/workshop/{scenario}", bind(workshop_page, site), anyone),
        page("/assess", bind(assess_form, site), anyone),
        page("/assess", bind(assess_submit, site), anyone, methods=post, bodies=(FORM,)),
    ]
