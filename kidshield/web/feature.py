"""The contract between the web app and the features served beside the dashboard (reports,
lessons, the message and media APIs): each gives its routes, with its own dependencies bound
in, and the background jobs it needs. ``kidshield.features`` builds them; ``create_app``
mounts them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from kidshield.web.api.registry import Api

D = TypeVar("D")
Endpoint = Callable[[Request], Awaitable[Response]]
# A job runs until the event is set (the server is stopping).
Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class WebFeature:
    name: str
    routes: list[BaseRoute]  # pages and API routes, dependencies bound in
    jobs: list[Job] = field(default_factory=list)
    api: list[Api[Any]] = field(default_factory=list)  # its API groups, for the document


def bind(handler: Callable[[Request, D], Awaitable[Response]], deps: D) -> Endpoint:
    """A starlette endpoint that calls ``handler(request, deps)``: how a feature's routes get
    their service without looking it up on the app."""

    async def endpoint(request: Request) -> Response:
        return await handler(request, deps)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
