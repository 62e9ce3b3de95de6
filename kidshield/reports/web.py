"""Web routes of reports: what the pages and APIs share (``ReportsSite``, templates, rate
limits, a new report from a form or JSON) and ``routes``, which serves the reporter's pages
(``public_pages``), the public API (``public_api``) and the staff's (``staff_pages``,
``staff``, ``staff_hotline``).

``routes(site)`` gives the routes with their ``ReportsSite`` (the service, the country for
helplines, whether reporters may choose to keep their IP address, the rate limiter of the
public routes) bound in. Links other pages use:

- child page / block page: ``/report?for=child`` (add ``&url=...`` to prefill the address)
- block page "this should be open": ``/report?type=over_blocking&url=<blocked address>``
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import TooManyRequests
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import Helpline, HelplineBook, HelplineProvider
from kidshield.reports import child_status
from kidshield.reports.api_models import (
    NO_UPLOADS,
    ReportIn,
)
from kidshield.reports.model import CaseType, ReporterRole, Source
from kidshield.reports.service import NewReport, ReportService
from kidshield.web.access import Permission
from kidshield.web.csrf import page_token
from kidshield.web.errors import N_
from kidshield.web.feature import bind
from kidshield.web.ratelimit import RateLimiter, client_key
from kidshield.web.render import translator_for
from kidshield.web.routing import FORM, Assets, page

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape()
)
templates.globals["child_status"] = child_status.words  # the child's status page, translated

# Questions in priority order: the most urgent harms first.
ADULT_TYPES: list[tuple[CaseType, str]] = [
    (CaseType.ABUSE_MATERIAL, "Sexual pictures or videos of a child"),
    (CaseType.GROOMING, "Someone trying to get close to a child in a sexual way, asking for "
                        "pictures, or asking to meet in secret"),
    (CaseType.SELF_HARM, "Self-harm or suicide"),
    (CaseType.BULLYING, "Bullying, threats or hate"),
    (CaseType.PRIVACY, "Private information or pictures shared without permission"),
    (CaseType.UNDER_BLOCKING, "A page that should be blocked is open"),
    (CaseType.OVER_BLOCKING, "A page that should be open is blocked"),
    (CaseType.OTHER, "Something else"),
]
# the child's form is translated (the English labels are msgids of the children's catalog)
CHILD_TYPES: list[tuple[CaseType, str]] = [
    (CaseType.GROOMING, N_("Someone I met online makes me feel uncomfortable or asks for "
                           "photos")),
    (CaseType.ABUSE_MATERIAL, N_("I saw sexual pictures or videos of a child")),
    (CaseType.SELF_HARM, N_("Someone talks about hurting themselves")),
    (CaseType.BULLYING, N_("Someone is being mean, threatening or bullying")),
    (CaseType.PRIVACY, N_("Someone shared my photo or my details")),
    (CaseType.OVER_BLOCKING, N_("A page I need for school is blocked")),
    (CaseType.UNDER_BLOCKING, N_("A page showed me something scary or not OK")),
    (CaseType.OTHER, N_("Something else")),
]
ROLES: list[tuple[ReporterRole, str]] = [
    (ReporterRole.ANONYMOUS, "I'd rather not say"),
    (ReporterRole.CHILD, "A child or young person"),
    (ReporterRole.PARENT, "A parent or carer"),
    (ReporterRole.TEACHER, "A teacher or school staff"),
    (ReporterRole.OTHER, "Someone else"),
]


@dataclass
class ReportsSite:
    """What the reports routes work with."""

    service: ReportService
    limiter: RateLimiter  # the server's (kinds report.submit, report.draft, report.receipt)
    country: str = ""  # ISO code: which helplines the pages show
    keep_ip: bool = False  # offer reporters the choice to keep their IP address
    # the helplines in force (the operator's own too); None: the shipped ones for ``country``
    helplines: HelplineProvider | None = None
    public_transparency: bool = False  # /transparency open to everyone


def helplines_for(site: ReportsSite) -> tuple[Helpline, ...]:
    """The helplines of the served app (with the operator's own), else the shipped ones."""
    if site.helplines is not None:
        book = site.helplines()
    else:
        book = HelplineBook(tuple(default_catalog().helplines), site.country)
    return book.choose()[:6]


def render(name: str, status_code: int = 200, request: Request | None = None,
           **context: Any) -> HTMLResponse:
    """A page; the child's version in the visitor's language (the adult form is English)."""
    t = translator_for(request) if request is not None and context.get("child") else None
    if request is not None:
        context.setdefault("csrf", page_token(request))  # every form carries it
    html = templates.get_template(name).render(
        _=t or (lambda text, **values: text.format(**values) if values else text),
        lang=t.lang if t else "en", dir=t.dir if t else "ltr", **context)
    return HTMLResponse(html, status_code=status_code)


LIMITED = "too many requests from this address; please try again in a few minutes"


def _wait(request: Request, site: ReportsSite, kind: str) -> float:
    """Seconds this client must wait before it may do ``kind`` again (0: go ahead; the
    event is counted). Kinds: submit, draft, receipt (a receipt code looked up or appealed:
    one allowance, so codes cannot be guessed through either)."""
    client = request.client.host if request.client else "unknown"
    return site.limiter.acquire((f"report.{kind}", client_key(client)))


def limited_page(request: Request, site: ReportsSite, kind: str) -> Response | None:
    """A 429 page when this client has used up its allowance for ``kind``."""
    wait = _wait(request, site, kind)
    if not wait:
        return None
    return HTMLResponse(f"<p>{LIMITED}</p>", status_code=429,
                        headers={"Retry-After": str(int(wait) + 1)})


def rate_limit(request: Request, site: ReportsSite, kind: str) -> None:
    """For the API: refuse (429, Retry-After) when this client has used up ``kind``."""
    wait = _wait(request, site, kind)
    if wait:
        raise TooManyRequests(LIMITED, retry_after=wait)


def is_upload(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "multipart/form-data" or kind.startswith(("image/", "video/")) or kind in (
        "application/octet-stream", "application/zip")


def new_report(body: ReportIn, request: Request, site: ReportsSite,
                source: Source) -> NewReport:
    keep_ip = body.keep_ip and site.keep_ip
    role = ReporterRole.CHILD if body.for_child else body.reporter_role
    return NewReport(
        source=Source.CHILD_FORM if body.for_child and source is Source.WEB else source,
        case_type=body.case_type,
        url=body.url,
        account=body.account,
        description=body.description,
        reporter_role=role,
        contact=body.contact or None,
        reporter_ip=request.client.host if keep_ip and request.client else None,
        imminent_danger=body.imminent_danger,
        good_faith=body.good_faith and not body.for_child,
        flagger_key=request.headers.get("x-flagger-key") or None,
    )


def routes(site: ReportsSite) -> list[BaseRoute]:
    """The public pages and API (anyone may report, without an account) and the staff's."""
    from kidshield.reports.public_api import api
    from kidshield.reports.public_pages import (
        child_intake_refused,
        intake_form,
        intake_submit,
        public_transparency,
        status_appeal,
        status_page,
    )
    from kidshield.reports.staff_pages import staff_routes

    anyone = Permission.PUBLIC
    form: dict[str, Any] = {"methods": ("POST",), "bodies": (FORM,), "max_body": MAX_BODY,
                            "wrong_body": NO_UPLOADS}
    return [
        page("/report", bind(intake_form, site), anyone),
        page("/report", bind(intake_submit, site), anyone, **form,
             child_error=child_intake_refused(site)),
        page("/report/status", bind(status_page, site), anyone),
        page("/report/status/{code}", bind(status_page, site), anyone),
        page("/report/status/{code}/appeal", bind(status_appeal, site), anyone, **form),
        # published or not, the figures have no personal data (public_transparency decides)
        page("/transparency", bind(public_transparency, site), anyone),
        Assets("/report/assets", HERE / "static", name="report-assets"),
        *api.routes(site),
        *staff_routes(site),
    ]

