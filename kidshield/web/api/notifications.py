"""``/api/v1/notifications`` and ``/api/v1/summary``: the notification channels (ntfy, e-mail,
webhook) and what is sent, a test per channel, and each child's weekly summary."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from kidshield.errors import InputError
from kidshield.notifications import settings as notify
from kidshield.notifications import weekly
from kidshield.web import actions
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api
from kidshield.web.context import WebContext

api: Api[WebContext] = Api(
    "notifications", "How parents hear of requests (ntfy, e-mail, webhook) and the weekly "
    "summary per child.", allow=Permission.HOUSEHOLD_READ)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NtfyModel(_Model):
    enabled: bool = False
    server: str = notify.DEFAULT_NTFY_SERVER
    topic: str = ""
    token: str = Field("", description="write only; empty keeps the stored token")


class NtfyView(NtfyModel):
    token_set: bool
    url: str


class EmailModel(_Model):
    enabled: bool = False
    host: str = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = Field("", description="write only; empty keeps the stored password")
    sender: str = ""
    to: list[str] = []


class EmailView(EmailModel):
    password_set: bool


class WebhookModel(_Model):
    enabled: bool = False
    url: str = ""


class NotificationsIn(_Model):
    ntfy: NtfyModel = NtfyModel()
    email: EmailModel = EmailModel()
    webhook: WebhookModel = WebhookModel()
    requests: bool = Field(True, description="tell when a child asks for a site")
    weekly: bool = Field(True, description="send a weekly summary per child")
    weekly_day: Literal[notify.DAYS] = "sunday"  # type: ignore[valid-type]
    weekly_hour: int = Field(18, ge=0, le=23, description="in the server's time zone")


class NotificationsView(_Model):
    ntfy: NtfyView
    email: EmailView
    webhook: WebhookModel
    requests: bool
    weekly: bool
    weekly_day: str
    weekly_hour: int


class DeliveryView(_Model):
    channel: str = Field(description="ntfy, email or webhook")
    target: str = Field(description="the topic, address or URL")
    ok: bool
    error: str


class Deliveries(_Model):
    deliveries: list[DeliveryView]


class SummaryQuery(_Model):
    end: date | None = Field(None, description="the last day of the week (default: today)")


class DayView(_Model):
    day: date
    queries: int
    blocks: int
    night: int = Field(description="blocked by bedtime")


class UsageView(_Model):
    service: str
    name: str
    minutes: float
    budget: int | None
    days_over: int


class RequestSummary(_Model):
    domain: str
    status: str
    message: str


class SummaryView(_Model):
    profile: str
    name: str
    start: date
    end: date
    queries: int
    blocks: int
    days: list[DayView]
    by_reason: dict[str, int]
    by_category: dict[str, int]
    top_blocked: dict[str, int]
    usage: list[UsageView]
    requests: list[RequestSummary]


@api("GET", "/notifications", "The notification channels and what is sent (no secrets)",
     response=NotificationsView)
async def get_notifications(request: Request, ctx: WebContext, _u: User | None,
                            _b: None) -> Any:
    return ctx.notifier.settings().public()


@api("PUT", "/notifications", "Set the channels (ntfy, e-mail, webhook) and what is sent",
     body=NotificationsIn, response=NotificationsView, allow=Permission.HOUSEHOLD_EDIT)
async def put_notifications(request: Request, ctx: WebContext, user: User | None,
                            body: NotificationsIn) -> Any:
    settings = notify.Notifications(
        ntfy=notify.Ntfy(**body.ntfy.model_dump()),
        email=notify.Email(**{**body.email.model_dump(), "to": tuple(body.email.to)}),
        webhook=notify.Webhook(**body.webhook.model_dump()),
        requests=body.requests, weekly=body.weekly, weekly_day=body.weekly_day,
        weekly_hour=body.weekly_hour)
    actions.save_notifications(ctx, user.name if user else "?", settings)
    return ctx.notifier.settings().public()


@api("POST", "/notifications/test", "Send a test on every channel that is on",
     response=Deliveries, allow=Permission.HOUSEHOLD_EDIT)
async def test_notifications(request: Request, ctx: WebContext, user: User | None,
                             _b: None) -> Any:
    results = await actions.test_notify(ctx, user.name if user else "?")
    return {"deliveries": [{"channel": r.kind, "target": r.target, "ok": r.ok,
                            "error": r.error} for r in results]}


@api("GET", "/summary/{pid}", "A child's week: queries, blocks, time used, questions",
     query=SummaryQuery, response=SummaryView, errors=(404,))
async def get_summary(request: Request, ctx: WebContext, _u: User | None,
                      q: SummaryQuery) -> Any:
    prof = actions.profile(ctx, request.path_params["pid"])
    await ctx.settle()
    today = ctx.now().astimezone(prof.tz).date()
    end = q.end or today
    if end > today:
        raise InputError("end: a day that has begun", field="end")
    s = ctx.notifier.summary(prof, *weekly.week_to(end), ctx.now())
    # through the model: it writes the days as ISO dates (a dict of date objects was a 500)
    return SummaryView.model_validate({
            "profile": s.profile, "name": s.name, "start": s.start, "end": s.end,
            "queries": s.queries, "blocks": s.blocks,
            "days": [{"day": d.day, "queries": d.queries, "blocks": d.blocks, "night": d.night}
                     for d in s.days],
            "by_reason": dict(s.by_reason), "by_category": dict(s.by_category),
            "top_blocked": dict(s.top_blocked),
            "usage": [{"service": u.service, "name": u.name, "minutes": u.minutes,
                       "budget": u.budget, "days_over": u.days_over} for u in s.usage],
            "requests": [{"domain": r.domain, "status": r.status, "message": r.message}
                         for r in s.requests]})
