"""A parent or friend telling of someone else's bullying (issue 12, fifteenth session, the
lead's call): no finding against the writer, but the reply shows bullying helplines chosen for
the writer's age and says why (a ``bullying`` signpost, ``why`` ``other``), through the message
engine, the conversation tracker and the served REST endpoints. And a bullying finding the
model gave such a disclosure, or a writer's own ("they called me a faggot"), is withheld when
nothing outside the telling sentences is bullying."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kidshield.safety.text import (
    ConversationTracker,
    RecommendedAction,
    Risk,
    RiskLevel,
    assess_conversation,
    assess_message,
)
from tests.e2e.fixtures import assess_client
from tests.safety.text.helpers import chat

TOLD = [
    "my son is being bullied at school and i dont know what to do",
    "My son's being bullied at school, what do I do?",
    "my best friend keeps getting called names in our group chat",
    "people keep posting mean stuff about my sister",
    "kids at school keep picking on my little brother",
    "my daughter gets called ugly every day on the bus",
    "nobody will sit with my daughter at lunch",
    "they made a fake account of my sister",
    "my son told me the other boys call him fat every day",
    'my son has autism and the kids in his class call him "robot" and "retard"',
    'my daughter\'s classmates call her "robot" and "retard" and the school won\'t do anything',
]
# disclosures the model alone flagged as bullying before the finding was withheld (each was
# `medium` on main 574d802e)
FLAGGED = [
    ("my son told me the other boys call him fat every day", "other"),
    ('my daughter\'s classmates call her "robot" and "retard" and the school won\'t do anything',
     "other"),
    ("in high school some guy pushed me into a locker and called me a faggot while his mates "
     "filmed it", "target"),
    ("they made a fake snapchat of me with my face on a cow and everyone followed it", "target"),
    ("the girls in my year keep calling me a slag and a skank", "target"),
]


@pytest.mark.parametrize("text", TOLD)
def test_someone_elses_bullying_is_shown_help_and_why(text: str) -> None:
    result = assess_message(text, sender="adult")
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines
    [signpost] = [s for s in result.signposts if s.risk is Risk.BULLYING]
    assert signpost.why == "other"
    assert signpost.spans and all(0 <= s.start < s.end <= len(text) for s in signpost.spans)
    assert result.to_dict()["signposts"][0]["why"] == "other"


@pytest.mark.parametrize(("text", "why"), FLAGGED)
def test_no_finding_against_a_writer_telling_of_bullying(text: str, why: str) -> None:
    result = assess_message(text, sender="teen")
    assert result.finding(Risk.BULLYING) is None
    assert result.level is RiskLevel.NONE
    assert [s.why for s in result.signposts if s.risk is Risk.BULLYING] == [why]
    assert result.helplines


@pytest.mark.parametrize(
    "text",
    [
        "they called me a fat pig today. you're a pathetic loser too",
        "they keep calling me gay. shut up you stupid idiot",
        "my son is being bullied at school. your son is a little thug and a bully",
    ],
)
def test_the_writers_own_insult_outside_the_telling_keeps_the_finding(text: str) -> None:
    result = assess_message(text, sender="teen")
    assert result.finding(Risk.BULLYING) is not None
    assert [s for s in result.signposts if s.risk is Risk.BULLYING]  # and the help


@pytest.mark.parametrize(
    "text",
    [
        "i pick on my brother all the time",  # the writer does it
        "me and my friends tease my sister",
        "my son bullied a boy at school",  # the son did it
        "my son is not being bullied",
        "nobody picks on my sister",
        "what if my daughter gets bullied",
        "my son will probably get bullied if he wears that",
        "my friend keeps getting called names lol",  # banter
        "my friends laugh at my brother lol",
        "my sister keeps getting killed in fortnite",  # a game
        "the main character keeps getting bullied",  # fiction
        "in the book a boy is bullied by his classmates",
        "the news said a boy was being called names online for months",
    ],
)
def test_no_help_where_nobody_the_writer_speaks_for_is_bullied(text: str) -> None:
    result = assess_message(text)
    assert not [s for s in result.signposts if s.risk is Risk.BULLYING]


def test_an_adult_writer_gets_the_entries_for_adults() -> None:
    # Chile's Fono Infancia is for parents ("18+"): a parent telling of their child sees it,
    # a teen telling of their friend does not
    parent = assess_message("my son is being bullied at school", sender="adult", country="CL")
    teen = assess_message("my friend is being bullied at school", sender="teen", country="CL")
    assert "cl-fono-infancia" in [line.id for line in parent.helplines]
    assert "cl-fono-infancia" not in [line.id for line in teen.helplines]
    assert teen.helplines


def test_the_tracker_and_the_conversation_result_carry_the_signpost() -> None:
    participants = {"mum": "adult", "teacher": "adult"}
    messages = chat([("mum", "hello mr evans"),
                     ("mum", "my daughter is being picked on by girls in her class")])
    tracker = ConversationTracker(participants=participants, country="GB")
    assert not tracker.add(messages[0]).signposts
    told = tracker.add(messages[1])
    assert [s.why for s in told.signposts] == ["other"]
    assert told.helplines and told.finding(Risk.BULLYING) is None
    body = assess_conversation(messages, participants=participants).to_dict()
    assert body["helplines"]
    assert not [f for f in body["findings"] if f["risk"] == "bullying"]
    assert [(s["message"], s["risk"], s["why"]) for s in body["signposts"]] == [
        (1, "bullying", "other")
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("someone-else")) as client:
        yield client


def test_the_served_message_endpoint_shows_help_and_why(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/message",
        json={"text": "people keep posting mean stuff about my sister", "sender": 15},
    ).json()
    assert body["findings"] == []
    assert "show_helpline" in body["actions"]
    assert body["helplines"]
    assert [(s["risk"], s["reason"], s["why"]) for s in body["signposts"]] == [
        ("bullying", "bullying", "other")
    ]


def test_the_served_endpoints_withhold_the_finding_on_a_disclosure(client: httpx.Client) -> None:
    text, _why = FLAGGED[2]
    body = client.post("/api/v1/assess/message", json={"text": text, "sender": 16}).json()
    assert body["findings"] == [] and body["level"] == "none"
    assert [s["why"] for s in body["signposts"]] == ["target"]
    conversation = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"mum": "adult", "teacher": "adult"},
            "messages": [
                {"sender": "mum", "text": "hello mr evans", "at": 1772388000},
                {"sender": "mum", "text": FLAGGED[0][0], "at": 1772388060},
            ],
        },
    ).json()
    assert not [f for f in conversation["findings"] if f["risk"] == "bullying"]
    assert conversation["messages"][1]["findings"] == []
    assert [(s["message"], s["why"]) for s in conversation["signposts"]] == [(1, "other")]
