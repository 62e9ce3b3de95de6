"""Benign whole conversations that were flagged for some risk (issue 12, eleventh session).

Each hard negative is a whole conversation through the public ``assess_conversation``, as a
platform would send it; each was flagged at ``low`` or above on main ``1316aaf0``. The
positives beside them must stay flagged. See docs/safety-log.md, "Benign conversations flagged
for some risk".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kidshield.safety.text.conversation import ConversationAssessment, assess_conversation
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.state import Message

START = datetime(2026, 3, 14, 16, 0, tzinfo=UTC)


def _chat(lines: list[tuple[str, str]], gap_seconds: int = 40) -> list[Message]:
    return [
        Message(sender, text, START + timedelta(seconds=i * gap_seconds))
        for i, (sender, text) in enumerate(lines)
    ]


def _risks(result: ConversationAssessment) -> dict[Risk, RiskLevel]:
    """Every risk the conversation or any of its messages reaches at ``low`` or above."""
    levels: dict[Risk, RiskLevel] = {}
    for found in result.findings:
        levels[found.risk] = max(levels.get(found.risk, RiskLevel.NONE), found.level)
    for message in result.messages:
        for found in message.findings:
            levels[found.risk] = max(levels.get(found.risk, RiskLevel.NONE), found.level)
    return {risk: level for risk, level in levels.items() if level >= RiskLevel.LOW}


# (name, lines, participants' ages or None for a bare chat)
HARD_NEGATIVES: list[tuple[str, list[tuple[str, str]], dict[str, int | None] | None]] = [
    (
        "skate mates: 'ya' is yeah, 'sick' is praise",
        [
            ("jayden", "oi u see me land the kickflip"),
            ("kyle", "ya it was sick"),
            ("jayden", "finally lol"),
        ],
        None,
    ),
    (
        "teens after a film: 'shut up' as the whole reply to being teased",
        [
            ("jess", "my ear hurts lol"),
            ("matt", "movie was so good"),
            ("jess", "i screamed like 5 times"),
            ("matt", "i know i was there lol"),
            ("jess", "shut up"),
            ("matt", "lol"),
        ],
        None,
    ),
    (
        "a couple on messenger: 'what are you wearing' with no sexual word",
        [
            ("gaz", "wat u wearin"),
            ("becky", "my work fleece lol"),
            ("gaz", "hot"),
            ("becky", "shut up"),
            ("gaz", "i mean it"),
            ("becky", "what are u wearin"),
            ("gaz", "hi vis still, i fell asleep on the sofa"),
        ],
        None,
    ),
    (
        "an aunt's lift from netball: kisses, and a surprise for the mum's birthday",
        [
            ("Auntie_Sue", "Hi Holly love, your mum's asked me to get you from netball "
                           "tonight as she's stuck at work. I'll be there at 5 xx"),
            ("Holly", "ok thanks auntie sue"),
            ("Auntie_Sue", "Outside now xx"),
            ("Holly", "coming"),
            ("Auntie_Sue", "Don't tell your mum but I've ordered the cake for her 40th! "
                           "Chocolate with raspberries x"),
            ("Holly", "omg she will love that"),
        ],
        {"Auntie_Sue": 44, "Holly": 12},
    ),
]


@pytest.mark.parametrize(
    ("lines", "ages"),
    [pytest.param(lines, ages, id=name) for name, lines, ages in HARD_NEGATIVES],
)
def test_benign_conversation_is_not_flagged(
    lines: list[tuple[str, str]], ages: dict[str, int | None] | None
) -> None:
    result = assess_conversation(_chat(lines), participants=ages)
    assert _risks(result) == {}


POSITIVES: list[tuple[str, list[tuple[str, str]], dict[str, int | None] | None, Risk]] = [
    (
        "'shut up' with an insult is still bullying",
        [("kid_a", "i scored again"), ("kid_b", "shut up you idiot nobody asked")],
        None,
        Risk.BULLYING,
    ),
    (
        "an explicit request with a sexual word is still sexual content",
        [("x", "hey"), ("y", "hi"), ("x", "send me a pic of ur body naked")],
        None,
        Risk.SEXUAL_CONTENT,
    ),
    (
        "clothes coming off on cam is still sexual content with no sexual word",
        [("x", "hey"), ("y", "hi"), ("x", "take off ur hoodie on cam for me, nothing under it")],
        None,
        Risk.SEXUAL_CONTENT,
    ),
    (
        "a porn site is still sexual content when an adult sends it to a child",
        [("adult", "watching xxx videos rn"), ("kid", "what")],
        {"adult": 35, "kid": 12},
        Risk.SEXUAL_CONTENT,
    ),
    (
        "a secret from the parents that is no surprise for them is still grooming",
        [
            ("coach_dan", "you were amazing at training today, so mature for your age"),
            ("mia", "thanks"),
            ("coach_dan", "don't tell your mum about us chatting, she wouldn't understand"),
            ("mia", "ok"),
            ("coach_dan", "i can pick you up after school tomorrow, just you and me"),
        ],
        {"coach_dan": 38, "mia": 12},
        Risk.GROOMING,
    ),
]


@pytest.mark.parametrize(
    ("lines", "ages", "risk"),
    [pytest.param(lines, ages, risk, id=name) for name, lines, ages, risk in POSITIVES],
)
def test_risky_conversation_stays_flagged(
    lines: list[tuple[str, str]], ages: dict[str, int | None] | None, risk: Risk
) -> None:
    result = assess_conversation(_chat(lines), participants=ages)
    assert risk in _risks(result)
