"""Server-side HTML: Jinja2 templates shipped in the package, with the visitor's language,
text direction and CSRF token filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from kidshield.web.access import current_user
from kidshield.web.csrf import csrf_token
from kidshield.web.errors import N_
from kidshield.web.i18n import Audience, Translator, available, language_name, negotiate
from kidshield.web.reasons import reason_words

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "ks_lang"


MESSAGES = {
    "saved": N_("Saved."), "bedtime": N_("Bedtime saved."), "answered": N_("Answer sent."),
    "unchanged": N_("Nothing was changed."),
    "paused": N_("Protection paused."), "resumed": N_("Protection is back on."),
    "internet_paused": N_("The internet is paused."),
    "internet_back": N_("The internet is back on."),
    "removed": N_("Removed."), "updated": N_("Lists updated."),
    "list_added": N_("The list was added and downloaded."),
    "list_removed": N_("The list was removed."),
    "welcome": N_("Welcome! Your account is ready. Now add your children."),
    "child_added": N_("The child was added."),
    "device_added": N_("The device was added."),
    "pin": N_("PIN saved."), "revoked": N_("Token revoked."),
    "notify_ok": N_("Test notification delivered."),
    "notify_failed": N_("The test notification could not be delivered."),
}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def waiting_requests(request: Request) -> int:
    """How many children's requests wait for an answer (the badge in the navigation)."""
    ctx = request.app.state.web
    if not hasattr(ctx, "state"):
        return 0
    return len(ctx.state.requests("pending", limit=100))


def translator_for(request: Request, audience: Audience = "child") -> Translator:
    choice = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return negotiate(request.headers.get("accept-language", ""), choice, audience)


def render(request: Request, template: str, status_code: int = 200,
           templates: Environment | None = None, **context: Any) -> HTMLResponse:
    """A page in the visitor's language; ``templates`` is a feature's own template folder
    (lessons, workshops), rendered with the same language, direction and CSRF token."""
    # children's pages (and lessons) come in every shipped language, the dashboard in those
    # whose dashboard catalog is complete
    audience: Audience = "child" if templates or template.startswith("child/") else "parent"
    t = translator_for(request, audience)
    secret: bytes = request.app.state.web.secret
    user = current_user(request)
    html = (templates or env).get_template(template).render(
        request=request, _=t, ngettext=t.ngettext, lang=t.lang, dir=t.dir,
        csrf=csrf_token(request, secret),
        user=user, languages=[(code, language_name(code)) for code in available(audience)],
        path=request.url.path, messages=MESSAGES, reason_words=reason_words(t),
        waiting=waiting_requests(request) if user is not None and audience == "parent"
        else 0, **context)
    response = HTMLResponse(html, status_code=status_code)
    chosen = request.query_params.get("lang")
    if chosen and chosen in available("child"):
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response
