"""A friend's self-harm plan the writer tells or quotes is the friend's, not the writer's
imminent plan (issue 12, fifteenth session): no self-harm finding on the writer, the model read
as talk about someone else, the ``report`` signpost with the helplines for the writer's age (the
"friend at risk" help), and no imminence in the conversation. The writer's own plan outside the
told words keeps everything. Through the message engine, the tracker and the served REST
endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from kidshield.safety.text import (
    RecommendedAction,
    Risk,
    RiskLevel,
    assess_conversation,
    assess_message,
)
from kidshield.safety.text.state import Message
from tests.e2e.fixtures import assess_client
from tests.safety.text.helpers import CHAT_START, chat

TOLD = [
    "she told me 'i will kill myself tonight'",
    'she told me "i will kill myself tonight"',
    "she told me i will kill myself tonight",
    "he texted me that im going to end it tonight",
    "they said 'im gonna kill myself after school'",
    "my friend texted me 'im going to kill myself tonight'",
    # the teller after the words (sixteenth session: was the writer's imminent plan)
    "'im going to end it tonight' she said",
    "\u201cim going to kill myself tonight\u201d he texted me",
    "im going to end it tonight she said",
]
# the writer's own plan beside someone's words
OWN = [
    "she told me to stop but i will kill myself tonight",
    "my friend told me to stop but i will kill myself tonight",
    "she told me 'i will kill myself tonight'. i will kill myself tonight too",
    "i told her 'i will kill myself tonight'",  # the writer's own words quoted
    "i will kill myself tonight",
    "'im going to end it tonight' she said but i will kill myself tonight",
    "i will kill myself tonight after what she said",  # "she said" tells no words here
]


@pytest.mark.parametrize("text", TOLD)
def test_a_friends_told_plan_is_no_finding_on_the_writer_but_shows_help(text: str) -> None:
    result = assess_message(text, sender=14, recipient=14)
    assert result.finding(Risk.SELF_HARM) is None
    assert result.level < RiskLevel.MEDIUM
    assert result.model_scores[Risk.SELF_HARM] < 0.2  # talk about someone else
    assert [(s.risk, s.why) for s in result.signposts] == [(Risk.SELF_HARM, "report")]
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines


def test_a_bully_telling_the_writer_to_die_is_no_report() -> None:
    """"they said i should kill myself" is the bullies' words to the writer, not a friend's plan:
    the writer's own risk after it is read as before (DEV row self_harm_posts-316's pattern)."""
    result = assess_message(
        "they said i should kill myself and that nobody would care. i think i could do it tonight",
        sender=14, recipient=14,
    )
    finding = result.finding(Risk.SELF_HARM)
    assert finding is not None and finding.level >= RiskLevel.HIGH
    assert not [s for s in result.signposts if s.risk is Risk.SELF_HARM]


@pytest.mark.parametrize("text", OWN)
def test_the_writers_own_plan_is_still_imminent(text: str) -> None:
    result = assess_message(text, sender=14, recipient=14)
    finding = result.finding(Risk.SELF_HARM)
    assert finding is not None and finding.level is RiskLevel.IMMINENT


def test_the_helplines_of_a_told_plan_are_for_the_writers_age() -> None:
    child = assess_message(TOLD[0], sender=12, recipient=12, country="GB")
    adult = assess_message(TOLD[0], sender="adult", recipient="adult", country="GB")
    assert child.helplines and adult.helplines
    assert child.helplines != adult.helplines


def test_a_told_plan_does_not_make_the_conversation_imminent() -> None:
    first = assess_conversation(
        chat([("ana", "i need to tell u something"),
              ("ana", TOLD[0]),
              ("ben", "omg u need to tell an adult")]),
        participants={"ana": 14, "ben": 14},
    )
    assert first.level < RiskLevel.HIGH
    assert first.messages[1].finding(Risk.SELF_HARM) is None
    later = CHAT_START + timedelta(days=1)
    calm = assess_conversation([Message("ana", "ok", later)], state=first.state.to_dict())
    assert calm.level < RiskLevel.HIGH
    assert all(f.level < RiskLevel.HIGH for f in calm.findings)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("quoted-plans")) as client:
        yield client


def test_the_served_message_endpoint_reads_a_told_plan_as_a_report(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/api/v1/assess/message", json={"text": TOLD[0], "sender": 14, "recipient": 14}
    ).json()
    assert not [f for f in body["findings"] if f["risk"] == "self_harm"]
    assert body["level"] != "imminent"
    assert [(s["risk"], s["why"]) for s in body["signposts"]] == [("self_harm", "report")]
    assert body["helplines"]


def test_the_served_conversation_endpoint_keeps_a_told_plan_below_imminent(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"kid": 13, "friend": 13},
            "messages": [
                {"sender": "kid", "text": "can i tell u something", "at": 1772388000},
                {"sender": "kid", "text": TOLD[2], "at": 1772388060},
            ],
        },
    ).json()
    assert not [f for f in body["findings"] if f["risk"] == "self_harm"]
    assert body["level"] not in ("imminent", "high")
    assert (1, "self_harm", "report") in [
        (s["message"], s["risk"], s["why"]) for s in body["signposts"]
    ]
