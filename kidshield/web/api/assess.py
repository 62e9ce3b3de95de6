"""REST endpoints: ``POST /api/v1/assess/message`` and ``POST /api/v1/assess/conversation``.

:func:`routes` gives the routes for the web app to mount (behind its auth); :func:`create_app`
serves them standalone. Bodies are JSON validated with pydantic; a bad body gets a 400 (not JSON)
or 422 (names each field) JSON answer, never a traceback. Responses hold no original text; the
redacted copy of personal information is included unless ``include_redacted`` is false.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kidshield.errors import KidshieldError
from kidshield.policy.helplines import HelplineBook
from kidshield.safety.text.assess import MAX_TEXT_LENGTH, assess_message
from kidshield.safety.text.conversation import Message, assess_conversation
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.model import AgeBand, RiskLevel
from kidshield.web.access import require_role
from kidshield.web.feature import bind

MAX_BODY_BYTES = 2_000_000
MAX_MESSAGES = 1_000

AgeInput = AgeBand | int


@dataclass
class AssessSite:
    """What the assessment routes work with."""

    # told about every high-risk result (the served app opens a case in the reports queue)
    on_high_risk: Callable[[Any, str | None], None] | None = None
    # the helplines in force (the operator's own, the server's country); None: the shipped ones
    helplines: Callable[[], HelplineBook] | None = None
    signed_in: bool = True  # False: the standalone app, which has no accounts


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageRequest(_Body):
    text: str = Field(max_length=MAX_TEXT_LENGTH)
    sender: AgeInput | None = Field(default=None, description="age band or age of the sender")
    recipient: AgeInput | None = Field(default=None, description="age band or age of the reader")
    language: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 code of "
                                "the user, for helplines (default: the server's country)")
    gaming_context: bool = False
    include_redacted: bool = True
    conversation_id: str | None = Field(default=None, max_length=200,
                                        description="the platform's id, for case de-duplication")


class ConversationMessage(_Body):
    sender: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=MAX_TEXT_LENGTH)
    at: datetime | float | None = None
    recipient: str | None = Field(default=None, max_length=200)


class ConversationRequest(_Body):
    messages: list[ConversationMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    participants: dict[str, AgeInput | None] = Field(default_factory=dict)
    state: dict[str, Any] | None = None
    language: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 code of "
                                "the user, for helplines (default: the server's country)")
    include_redacted: bool = True
    conversation_id: str | None = Field(default=None, max_length=200,
                                        description="the platform's id, for case de-duplication")


def _error(status: int, message: str, fields: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _BadRequest(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadRequest(400, f"request body is not valid JSON: {exc}") from None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _validation_fields(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors()
    ]


def _assess_message(body: MessageRequest, book: HelplineBook | None) -> Any:
    return assess_message(body.text, sender=body.sender, recipient=body.recipient,
                          language=body.language, gaming_context=body.gaming_context,
                          country=body.country, helplines=book)


def _assess_conversation(body: ConversationRequest, book: HelplineBook | None) -> Any:
    messages = [
        Message.from_dict(m.model_dump(), f"messages.{i}") for i, m in enumerate(body.messages)
    ]
    return assess_conversation(messages, participants=body.participants, state=body.state,
                               language=body.language, country=body.country, helplines=book)


async def _answer(request: Request, site: AssessSite,
                  model: type[MessageRequest] | type[ConversationRequest],
                  assess: Callable[[Any, HelplineBook | None], Any]) -> JSONResponse:
    """Validate the body, assess, tell the app about high risks, answer. Bad input is a 4xx
    JSON body naming the field."""
    if site.signed_in:
        require_role(request)
    try:
        body = model.model_validate(await _read_json(request))
        result = assess(body, site.helplines() if site.helplines is not None else None)
    except _BadRequest as exc:
        return _error(exc.status, exc.message)
    except ValidationError as exc:
        return _error(422, "invalid request", _validation_fields(exc))
    except KidshieldError as exc:
        return _error(400, str(exc))
    if site.on_high_risk is not None and result.level >= RiskLevel.HIGH:
        site.on_high_risk(result, body.conversation_id)
    return JSONResponse(result.to_dict(include_redacted=body.include_redacted))


async def assess_message_endpoint(request: Request, site: AssessSite) -> JSONResponse:
    return await _answer(request, site, MessageRequest, _assess_message)


async def assess_conversation_endpoint(request: Request, site: AssessSite) -> JSONResponse:
    return await _answer(request, site, ConversationRequest, _assess_conversation)


def routes(site: AssessSite) -> list[BaseRoute]:
    """The assessment routes. Compiles the default lexicon now, so the first request is fast.
    High-risk results go to ``site.on_high_risk``: the safety engine knows nothing of cases."""
    load_lexicon()
    return [
        Route("/api/v1/assess/message", bind(assess_message_endpoint, site), methods=["POST"]),
        Route("/api/v1/assess/conversation", bind(assess_conversation_endpoint, site),
              methods=["POST"]),
    ]


def create_app() -> Starlette:
    """The assessment endpoints on their own (no auth: bind to localhost or put a proxy in
    front). Run with ``uvicorn --factory kidshield.web.api.assess:create_app``."""
    return Starlette(routes=routes(AssessSite(signed_in=False)))
