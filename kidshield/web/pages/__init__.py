"""The parents' dashboard: server-rendered pages (Jinja2), one form per action, every form
CSRF-protected. Each action calls the same function as the REST API (``web.actions``)."""

from kidshield.web.pages.dashboard import page_routes

__all__ = ["page_routes"]
