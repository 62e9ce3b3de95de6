""""Pause the internet now" for a child: everything but helplines and the profile's learning
sites is blocked for some minutes or until a time (docs/policy.md, step 3a). The opposite of
pausing protection, which lifts filtering; both are separate buttons."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError
from kidshield.policy.schedule import parse_hhmm
from kidshield.web import actions
from kidshield.web.access import Permission, User, require_user
from kidshield.web.api.registry import Api
from kidshield.web.context import WebContext, web_context
from kidshield.web.routing import page

MAX_MINUTES = 12 * 60


def _s(form: FormData, key: str, default: str = "") -> str:
    value = form.get(key, default)
    return value.strip() if isinstance(value, str) else default


def pause_internet(ctx: WebContext, actor: str, pid: str, minutes: int | None = None,
                   until: str | None = None) -> datetime | None:
    """Pause the internet for ``pid`` ("all": every profile) for ``minutes``, or until the
    local time ``until`` (HH:MM, today or else tomorrow); ``minutes=0`` ends the pause."""
    targets = list(ctx.runtime.profiles) if pid == "all" else [actions.profile(ctx, pid).id]
    now = ctx.now()
    end: datetime | None
    if until:
        try:
            minute = parse_hhmm(until)
        except ValueError:
            raise InputError(f"until: {until!r} is not a time (HH:MM)", field="until") from None
        tz = ctx.runtime.profiles[targets[0]].tz if targets else now.tzinfo
        local = now.astimezone(tz)
        end = datetime.combine(local.date(), time(minute // 60 % 24, minute % 60), tzinfo=tz)
        if end <= local:
            end += timedelta(days=1)
        if end - now > timedelta(minutes=MAX_MINUTES):
            raise InputError(f"until: at most {MAX_MINUTES // 60} hours from now",
                             field="until")
    elif minutes is None:
        raise InputError("minutes: how long, or until: a time", field="minutes")
    elif not 0 <= minutes <= MAX_MINUTES:
        raise InputError(f"minutes: from 0 to {MAX_MINUTES}", field="minutes")
    else:
        end = now + timedelta(minutes=minutes) if minutes else None
    ctx.state.pause(targets, end, actor, ctx.audit_entry(
        actor, "internet.pause" if end else "internet.resume", pid,
        until=end.isoformat() if end else None), kind="internet")
    return end


# -- the dashboard's form ---------------------------------------------------------------------
async def pause_internet_submit(request: Request) -> Response:
    ctx = web_context(request)
    user = require_user(request, Permission.HOUSEHOLD_READ)
    form = await request.form()  # its CSRF token was checked by the route's rule
    choice = _s(form, "minutes")
    minutes = None
    if choice and choice != "until":
        try:
            minutes = int(choice)
        except ValueError:
            raise InputError("minutes: a number", field="minutes") from None
    end = pause_internet(ctx, user.name, _s(form, "profile", "all"), minutes,
                         _s(form, "until") if choice == "until" else None)
    back = _s(form, "back", "/")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}m={'internet_paused' if end else 'internet_back'}",
                            303)


def pause_routes() -> list[BaseRoute]:
    return [page("/pause-internet", pause_internet_submit, Permission.HOUSEHOLD_CONTROL,
                 methods=("POST",))]


# -- the API ----------------------------------------------------------------------------------
api: Api[WebContext] = Api("dashboard", allow=Permission.HOUSEHOLD_CONTROL)


class PauseInternetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: str = Field(description="a profile id, or \"all\"")
    minutes: int | None = Field(None, ge=0, le=MAX_MINUTES, description="0 ends the pause")
    until: str | None = Field(None, description="HH:MM in the child's time zone, instead of "
                              "minutes")


class InternetPaused(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: str
    internet_paused_until: str | None


@api("POST", "/pause-internet", "Pause the internet now: all but helplines and learning "
     "sites blocked for N minutes or until a time (0 minutes ends it)", body=PauseInternetIn,
     response=InternetPaused, errors=(404,))
async def post_pause_internet(request: Request, ctx: WebContext, user: User | None,
                              body: PauseInternetIn) -> Any:
    end = pause_internet(ctx, user.name if user else "?", body.profile, body.minutes,
                         body.until)
    return {"profile": body.profile,
            "internet_paused_until": end.isoformat(timespec="seconds") if end else None}
