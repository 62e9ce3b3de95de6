"""A groomer's words retold are not the writer's grooming (issue 12, sixteenth session).

A parent, a teacher or a child retelling what groomers say ("the officer said groomers say
'meet me at the park, dont tell your parents'") is flagged at most ``low`` (for review: a
groomer rarely phrases his own request as "groomers say ...", but a misread must not vanish),
and in a conversation the retold lines are none of the writer's grooming stages, so the rule
"a known adult asks a child to meet in secret" no longer makes the parent's direction
imminent. A child telling what someone said to THEM ("he said dont tell ur parents and meet
him at the park") keeps its finding and gains a grooming signpost and helplines for the
child's age. The writer's own moves stay as they were. Through the message engine, the
conversation tracker and the served REST endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kidshield.safety.text import (
    RecommendedAction,
    Risk,
    RiskLevel,
    assess_conversation,
    assess_message,
)
from kidshield.safety.text.combine import RETOLD_SCORE
from tests.e2e.fixtures import assess_client
from tests.safety.text.helpers import chat

RETOLD = [
    "the officer said groomers say 'meet me at the park, dont tell your parents'",
    "my mum warned me that creeps online say things like 'keep it our secret'",
    "in the assembly they told us predators ask 'are you home alone?'",
    "groomers say stuff like 'dont tell your parents' and 'lets meet up irl'",
]
RECEIVED = [
    "he said dont tell ur parents and meet him at the park",
    "a guy on insta told me to keep it our secret and asked if im home alone",
]
# the writer's own moves, beside quotation marks or a retelling
OWN = [
    "dont tell your parents. meet me at the park tonight, come alone",
    "this is 'our little secret' ok? dont tell your parents",
    "my mum warned me creeps say 'keep it our secret'. anyway are you home alone rn?",
    "if anyone asks, say youre at a friends house. dont tell your parents about us",
    "if anyone asks you to show our chats, say no. delete the chat after",  # a cover story
    "people online say age is just a number, dont tell your parents about us",
]


@pytest.mark.parametrize("text", RETOLD)
def test_retold_grooming_is_flagged_low_for_review(text: str) -> None:
    result = assess_message(text, sender="adult", recipient="child")
    finding = result.finding(Risk.GROOMING)
    assert finding is not None and finding.level is RiskLevel.LOW
    assert finding.spans  # the groomer's words stay as the evidence
    assert finding.score <= RETOLD_SCORE
    assert [s.why for s in result.signposts if s.risk is Risk.GROOMING] == ["retold"]


@pytest.mark.parametrize("text", RETOLD)
def test_a_parent_retelling_a_groomer_is_no_imminent_conversation(text: str) -> None:
    result = assess_conversation(
        chat([("mum", "can we talk about online safety for a sec"), ("kid", "ok"),
              ("mum", text), ("kid", "ok mum i know")]),
        participants={"mum": 41, "kid": 12},
    )
    assert result.finding(Risk.GROOMING) is None
    assert result.level < RiskLevel.MEDIUM


@pytest.mark.parametrize(("text", "level"), [(RECEIVED[0], RiskLevel.HIGH),
                                             (RECEIVED[1], RiskLevel.LOW)])
def test_a_child_telling_what_was_said_to_them_gets_help(text: str, level: RiskLevel) -> None:
    # the finding as the engine gave it before (a child writing to an adult has none: his
    # cues count less)
    finding = assess_message(text, sender="adult", recipient="child").finding(Risk.GROOMING)
    assert finding is not None and finding.level is level
    result = assess_message(text, sender=12, recipient="adult", country="GB")
    told = [s for s in result.signposts if s.risk is Risk.GROOMING]
    assert [s.why for s in told] == ["target"] and told[0].spans
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines
    # for the child who wrote it, not for an adult
    for_adult = assess_message(text, sender="adult", recipient=12, country="GB")
    assert result.helplines != for_adult.helplines


def test_a_disclosure_in_a_conversation_keeps_its_signpost() -> None:
    result = assess_conversation(
        chat([("kid", "mum can i tell u something"), ("kid", RECEIVED[0])]),
        participants={"kid": 12, "mum": 41},
    )
    assert [s.why for s in result.messages[1].signposts if s.risk is Risk.GROOMING] == [
        "target"]
    assert result.messages[1].helplines


@pytest.mark.parametrize("text", OWN)
def test_the_writers_own_moves_are_unchanged(text: str) -> None:
    result = assess_message(text, sender="adult", recipient="child")
    finding = result.finding(Risk.GROOMING)
    assert finding is not None and finding.level >= RiskLevel.MEDIUM
    assert not [s for s in result.signposts if s.risk is Risk.GROOMING]


def test_an_adults_own_secret_meeting_is_still_imminent_after_a_retelling() -> None:
    result = assess_conversation(
        chat([("man", RETOLD[0]), ("kid", "lol ok"), ("man", OWN[0])]),
        participants={"man": 35, "kid": 12},
    )
    finding = result.finding(Risk.GROOMING)
    assert finding is not None and finding.level is RiskLevel.IMMINENT
    # the retold message gave none of the evidence
    assert all(number == 2 for number, _span in finding.evidence)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("retold-grooming")) as client:
        yield client


def test_the_served_conversation_endpoint_reads_a_retelling_as_no_grooming(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"mum": 41, "kid": 12},
            "messages": [
                {"sender": "mum", "text": "hey can we talk", "at": 1772388000},
                {"sender": "mum", "text": RETOLD[0], "at": 1772388060},
            ],
        },
    ).json()
    assert [f for f in body["findings"] if f["risk"] == "grooming"] == []
    assert body["level"] not in ("high", "imminent")


def test_the_served_message_endpoint_signposts_a_disclosure(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/message", json={"text": RECEIVED[0], "sender": 12, "recipient": 41}
    ).json()
    assert ("grooming", "target") in [(s["risk"], s["why"]) for s in body["signposts"]]
    assert "show_helpline" in body["actions"] and body["helplines"]
