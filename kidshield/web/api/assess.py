"""REST endpoints: ``POST /api/v1/assess/message`` and ``POST /api/v1/assess/conversation``.

``kidshield serve`` mounts them behind its sign-in (the ``api`` group, ``registry.py``);
:func:`create_app` serves them standalone. Bodies are JSON validated with pydantic; a bad body
gets a 400 (not JSON) or 422 (naming each field) in the one error shape, never a traceback.
Responses hold no original text; the redacted copy of personal information is included unless
``include_redacted`` is false.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute

from kidshield.policy.helplines import HelplineBook, HelplineProvider
from kidshield.safety.text.assess import MAX_TEXT_LENGTH, assess_message, combiner
from kidshield.safety.text.conversation import Message, assess_conversation
from kidshield.safety.text.lexicon import LexiconError, load_lexicon
from kidshield.safety.text.model import AgeBand, RiskLevel
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api, document_routes
from kidshield.web.routing import standalone

MAX_BODY_BYTES = 2_000_000
MAX_MESSAGES = 1_000



def _age_input(value: Any) -> Any:
    """An age band or an age, with one error naming the field: pydantic's own for the union
    name each member ("sender.int"), and it takes JSON true for the age 1."""
    if value is None or isinstance(value, AgeBand):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().isdigit():
            return int(value)
        try:
            return AgeBand(value.strip().lower())
        except ValueError:
            pass
    raise ValueError("expected an age band (child, teen, adult or unknown) or an age in years, "
                     f"not {value!r}")


AgeInput = Annotated[AgeBand | int, BeforeValidator(_age_input)]


def _time_input(value: Any) -> Any:
    """An ISO 8601 time or Unix seconds, with one error naming the field (the range and the
    time zone are checked with the message, ``state.parse_time``)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.strip())
    raise ValueError("expected an ISO 8601 time with a zone (2026-01-31T18:00:00Z) or Unix "
                     f"seconds, not {value!r}")


TimeInput = Annotated[datetime | float, BeforeValidator(_time_input)]


@dataclass
class AssessSite:
    """What the assessment routes work with."""

    # told about every high-risk result (the served app opens a case in the reports queue);
    # called in a worker thread
    on_high_risk: Callable[[Any, str | None], None] | None = None
    # the helplines in force (the operator's own, the server's country); None: the shipped ones
    helplines: HelplineProvider | None = None


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
    at: TimeInput | None = None
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


class _Out(BaseModel):
    # the engine may say more than listed here (e.g. a new risk's details): allowed
    model_config = ConfigDict(extra="allow")


class SpanOut(_Out):
    start: int
    end: int
    label: str


class FindingOut(_Out):
    risk: str
    reason: str = Field(description="the shared Reason (docs/policy.md)")
    score: float
    level: str
    stages: list[str]
    spans: list[SpanOut] = Field(description="offsets into the original text")


class HelplineOut(_Out):
    """A helpline to show with the result (empty details are left out)."""

    id: str
    name: str
    name_en: str | None = None
    kind: str | None = None
    country: str | None = None
    region: str | None = Field(None, description="a country code, or international")
    phone: str | None = None
    text: str | None = None
    whatsapp: str | None = None
    chat: str | None = None
    hours: str | None = None
    languages: list[str] | None = None
    ages: str | None = None
    url: str | None = None
    contact: str | None = Field(None, description="the first way to reach it")


class SignpostOut(_Out):
    """Helplines shown without a finding against the writer, and why (docs/safety.md)."""

    risk: str
    reason: str = Field(description="the shared Reason (docs/policy.md)")
    why: str = Field(description="target or threat (the writer tells they are bullied, "
                     "threatened or groomed), other (someone else is bullied, or someone else's "
                     "self-harm), retold (a sextortion threat or a groomer's words told again), "
                     "past, report or distress (self-harm)")
    spans: list[SpanOut] = Field(description="offsets into the original text")


class ConversationSignpostOut(SignpostOut):
    message: int = Field(description="the message of this call that said so (0-based)")


class AssessmentOut(_Out):
    language: str
    language_source: str
    level: str = Field(description="none, low, medium, high or imminent")
    actions: list[str]
    findings: list[FindingOut]
    helplines: list[HelplineOut]
    signposts: list[SignpostOut] = Field(default_factory=list)
    text_length: int
    redacted: str | None = Field(None, description="only when personal information was found")


class ConversationFindingOut(_Out):
    risk: str
    reason: str
    score: float
    level: str
    stages: list[str]
    direction: str | None
    evidence: list[dict[str, Any]]


class ConversationOut(_Out):
    language: str
    language_source: str
    level: str
    actions: list[str]
    findings: list[ConversationFindingOut]
    first_flagged: dict[str, dict[str, int]]
    helplines: list[HelplineOut]
    signposts: list[ConversationSignpostOut] = Field(default_factory=list)
    messages: list[AssessmentOut]
    state: dict[str, Any] = Field(description="pass it back with the next messages")


api: Api[AssessSite] = Api(
    "assess", "The message safety engine: risks in a message or a conversation, with reasons "
    "and spans; the text is never kept.", allow=Permission.ASSESS)


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


async def _answer(site: AssessSite, body: MessageRequest | ConversationRequest,
                  assess: Callable[[Any, HelplineBook | None], Any]) -> Any:
    """Assess off the event loop (DNS answers share it), tell the app about high risks."""

    def run() -> Any:
        result = assess(body, site.helplines() if site.helplines is not None else None)
        if site.on_high_risk is not None and result.level >= RiskLevel.HIGH:
            site.on_high_risk(result, body.conversation_id)
        return result.to_dict(include_redacted=body.include_redacted)

    try:
        return await run_in_threadpool(run)
    except LexiconError as exc:  # no cue list for the language asked for
        exc.field = exc.field or "language"
        raise


@api("POST", "/assess/message", "Assess one message", body=MessageRequest,
     response=AssessmentOut, max_body=MAX_BODY_BYTES)
async def assess_message_endpoint(request: Request, site: AssessSite, _user: User | None,
                                  body: MessageRequest) -> Any:
    return await _answer(site, body, _assess_message)


@api("POST", "/assess/conversation", "Assess messages of a conversation, with the state from "
     "the previous call", body=ConversationRequest, response=ConversationOut,
     max_body=MAX_BODY_BYTES)
async def assess_conversation_endpoint(request: Request, site: AssessSite, _user: User | None,
                                       body: ConversationRequest) -> Any:
    return await _answer(site, body, _assess_conversation)


def routes(site: AssessSite) -> list[BaseRoute]:
    """The assessment routes. Compiles the default lexicon and loads the text model now, so
    the first request is fast (and a missing or altered model file stops the start, not a
    request). High-risk results go to ``site.on_high_risk``: the safety engine knows nothing of
    cases."""
    load_lexicon()
    combiner()
    return list(api.routes(site))


def create_app() -> Starlette:
    """The assessment endpoints on their own, without accounts (bind to localhost or put a
    proxy in front). Run with ``uvicorn --factory kidshield.web.api.assess:create_app``."""
    app: Starlette = standalone([*routes(AssessSite()),
                                 *document_routes([api], access_open=True)])
    return app
