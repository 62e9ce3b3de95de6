"""A sextortion threat the writer tells of is not the writer's threat in progress (issue 12,
fifteenth session, the lead's calls). Retold (a warning, a talk at school, the news, a
quotation): the finding stays but capped at ``low`` (flagged for review: a real threat misread
as retold must not be missed), nothing imminent, and in a conversation a retold message counts
as low evidence, not 7 days of imminence. Received ("he said he'll post my
pics unless i pay"): the child is being sextorted, so the finding stays, but below imminent
(the threat is another's), and the reply shows the sextortion helplines for the writer, with a
``sextortion`` signpost saying why. Through the message engine, the conversation tracker and
the served REST endpoints."""

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
from kidshield.safety.text.combine import RETOLD_SCORE
from kidshield.safety.text.state import Message
from tests.e2e.fixtures import assess_client
from tests.safety.text.helpers import CHAT_START, chat

RETOLD = [
    "they say like 'send $500 or i'll send it to ur followers'",
    'they get u to send a pic then say "pay £300 or i send it to ur followers"',
    "the police officer said scammers say pay me $500 or ill send ur nudes to everyone",
    "my friend said her ex told her ill leak your nudes unless you pay",
    "they flirt and ask for pics and then threaten to send them to ur friends unless u pay",
]
RECEIVED = [
    "he said if i dont send more pics he'll post them",
    "he said he'll post my pics unless i pay him $200 tonight",
    "he keeps saying ill send your nudes to your mom unless you send more",
    "someone is blackmailing me, they want gift cards or they send my video to my school",
]
# the writer's own threats, with and without someone's words beside them
OWN = [
    "send $500 or i send it to ur followers",
    "pay me 200 or ill post your nudes everywhere",
    'you said "no" but pay me 200 or ill post your nudes everywhere',
]


@pytest.mark.parametrize("text", RETOLD)
def test_a_retold_threat_is_flagged_low_for_review_not_imminent(text: str) -> None:
    result = assess_message(text, sender="teen", recipient="teen")
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None and finding.level is RiskLevel.LOW
    assert finding.spans  # the threat's words stay as the evidence
    assert finding.score <= RETOLD_SCORE  # what the tracker adds up
    assert result.model_scores[Risk.SEXTORTION] > 0.5  # the model's reading is not changed
    assert result.level < RiskLevel.HIGH
    assert [(s.risk, s.why) for s in result.signposts if s.risk is Risk.SEXTORTION] == [
        (Risk.SEXTORTION, "retold")
    ]


@pytest.mark.parametrize("text", RECEIVED)
def test_a_threat_received_keeps_its_finding_below_imminent_with_help_for_the_writer(
    text: str,
) -> None:
    result = assess_message(text, sender="teen", recipient="teen")
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None
    assert finding.level is RiskLevel.HIGH
    told = [s for s in result.signposts if s.risk is Risk.SEXTORTION]
    assert [s.why for s in told] == ["target"]
    assert told[0].spans  # the words that say the writer was threatened
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines


@pytest.mark.parametrize("text", OWN)
def test_the_writers_own_threat_is_still_imminent(text: str) -> None:
    result = assess_message(text, sender="adult", recipient="teen")
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None and finding.level is RiskLevel.IMMINENT
    assert not [s for s in result.signposts if s.risk is Risk.SEXTORTION]


def test_the_helplines_of_a_threat_received_are_for_the_writers_age() -> None:
    """A 12-year-old telling an adult is the one who needs the child helplines."""
    told = assess_message(RECEIVED[0], sender=12, recipient="adult", country="GB")
    made = assess_message(OWN[1], sender="adult", recipient=12, country="GB")
    assert told.helplines == made.helplines  # both for the child
    for_adult = assess_message(OWN[1], sender=12, recipient="adult", country="GB")
    assert told.helplines != for_adult.helplines  # (the ages choose)


def test_a_retold_warning_leaves_the_conversation_low_not_imminent() -> None:
    result = assess_conversation(
        chat([("ana", "we had an assembly about sextortion today"),
              ("ben", "what did they say"),
              ("ana", RETOLD[0]),
              ("ben", "thats so scary")]),
        participants={"ana": 14, "ben": 14},
    )
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None and finding.level is RiskLevel.LOW  # still there for review
    assert result.level < RiskLevel.HIGH
    told = result.messages[2].finding(Risk.SEXTORTION)
    assert told is not None and told.level is RiskLevel.LOW
    # and a day later, nothing of it is imminent (the 7-day mark is for threats made)
    later = CHAT_START + timedelta(days=1)
    calm = assess_conversation([Message("ana", "ok", later)], state=result.state.to_dict())
    assert all(f.level < RiskLevel.MEDIUM for f in calm.findings)


def test_the_retellings_of_one_safety_talk_do_not_add_up_to_high() -> None:
    """The tracker adds a retold message's score, not its model probability: three
    retellings in a row stay below high (four would reach it, like four low flags)."""
    result = assess_conversation(
        chat([("ana", RETOLD[0]), ("ana", RETOLD[1]), ("ana", RETOLD[4])]),
        participants={"ana": 14, "ben": 14},
    )
    found = [m.finding(Risk.SEXTORTION) for m in result.messages]
    assert [f.level if f else None for f in found] == [RiskLevel.LOW] * 3
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None and finding.level is RiskLevel.MEDIUM


def test_a_threat_received_does_not_keep_the_writers_direction_imminent() -> None:
    """The tracker's 7-day imminence marks the direction that made an imminent threat: a child
    telling a friend of the threat is not that direction."""
    first = assess_conversation(
        chat([("kid", RECEIVED[2]), ("friend", "omg tell ur mum")]),
        participants={"kid": 14, "friend": 14},
    )
    finding = first.finding(Risk.SEXTORTION)
    assert finding is not None and finding.level is RiskLevel.HIGH
    later = CHAT_START + timedelta(days=1)
    calm = assess_conversation([Message("kid", "ok", later)], state=first.state.to_dict())
    assert all(f.level < RiskLevel.IMMINENT for f in calm.findings)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("quoted-threats")) as client:
        yield client


def test_the_served_message_endpoint_reads_a_retold_threat_as_low(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/api/v1/assess/message", json={"text": RETOLD[0], "sender": 14, "recipient": 14}
    ).json()
    assert [f["level"] for f in body["findings"] if f["risk"] == "sextortion"] == ["low"]
    assert body["level"] == "low"
    assert [(s["risk"], s["why"]) for s in body["signposts"]] == [("sextortion", "retold")]


def test_the_served_conversation_endpoint_keeps_a_threat_received_below_imminent(
    client: httpx.Client,
) -> None:
    body = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"kid": 13, "friend": 13},
            "messages": [
                {"sender": "kid", "text": "can i tell u something", "at": 1772388000},
                {"sender": "kid", "text": RECEIVED[2], "at": 1772388060},
            ],
        },
    ).json()
    sextortion = [f for f in body["findings"] if f["risk"] == "sextortion"]
    assert [f["level"] for f in sextortion] == ["high"]
    assert body["level"] != "imminent"
    assert "show_helpline" in body["actions"]
    assert body["helplines"]
    # (bullying's "threat received" signpost reads "he'll post my pics" too)
    assert (1, "sextortion", "target") in [
        (s["message"], s["risk"], s["why"]) for s in body["signposts"]
    ]
