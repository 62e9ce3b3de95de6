"""Teasing in a conversation: bullying the model alone rates below its high level flags only
when it comes again in the same direction (issue 12, twelfth session; docs/safety-log.md, "Benign
conversations flagged for some risk, round two"). Whole conversations through the public
``assess_conversation``; each hard negative was flagged for bullying on main ``69e837fc``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kidshield.safety.text.conversation import (
    ConversationTracker,
    assess_conversation,
)
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.state import Message
from tests.safety.text.helpers import CHAT_START, chat, conversation_bullying

TEASING: list[tuple[str, list[tuple[str, str]], dict[str, int | None] | None]] = [
    (
        "school friends: a joke about a haircut",
        [
            ("emma", "omg did u get a haircut"),
            ("lukas", "ya my mum did it"),
            ("emma", "your hair is ridiculous today"),
            ("lukas", "lol i know"),
            ("emma", "it's cute tho"),
        ],
        {"emma": 14, "lukas": 14},
    ),
    (
        "a k-pop fan asking a friend's favourite",
        [
            ("maplebunny", "did u get tickets"),
            ("hanni", "YES front block"),
            ("maplebunny", "who's ur bias"),
            ("hanni", "hanni obviously lol"),
        ],
        None,
    ),
    (
        "an uncle at the door for a lift",
        [
            ("Uncle_Pat", "Leaving now, 10 mins"),
            ("Sean", "ok"),
            ("Uncle_Pat", "Outside your house"),
            ("Sean", "coming"),
        ],
        {"Uncle_Pat": 47, "Sean": 13},
    ),
]


@pytest.mark.parametrize(
    ("lines", "ages"), [pytest.param(lines, ages, id=name) for name, lines, ages in TEASING]
)
def test_one_message_only_the_model_rates_bullying_is_not_flagged(
    lines: list[tuple[str, str]], ages: dict[str, int | None] | None
) -> None:
    result = assess_conversation(chat(lines), participants=ages)
    assert conversation_bullying(result) is RiskLevel.NONE


def test_the_same_again_in_the_same_direction_is_flagged() -> None:
    lines = [
        ("kid_a", "hi"),
        ("kid_b", "your hair is ridiculous today"),
        ("kid_a", "ok"),
        ("kid_b", "you smell"),
    ]
    result = assess_conversation(chat(lines))
    assert not [f for f in result.messages[1].findings if f.risk is Risk.BULLYING]
    assert any(f.risk is Risk.BULLYING for f in result.messages[3].findings)
    assert result.finding(Risk.BULLYING) is not None


def test_the_held_message_is_kept_in_the_state_between_calls() -> None:
    lines = [("kid_a", "hi"), ("kid_b", "your hair is ridiculous today")]
    first = assess_conversation(chat(lines))
    assert conversation_bullying(first) is RiskLevel.NONE
    later = CHAT_START + timedelta(hours=5)
    second = assess_conversation(
        chat([("kid_b", "you smell")], start=later), state=first.state.to_dict()
    )
    assert conversation_bullying(second) >= RiskLevel.LOW


def test_the_reply_of_the_other_side_does_not_count_as_the_second() -> None:
    lines = [("kid_a", "your hair is ridiculous today"), ("kid_b", "you smell")]
    assert conversation_bullying(assess_conversation(chat(lines))) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    ["you're such a loser", "nobody likes you", "you're ugly", "kill yourself"],
)
def test_a_cue_or_the_high_level_still_flags_at_once(text: str) -> None:
    lines = [("kid_a", "hi"), ("kid_b", text)]
    assert conversation_bullying(assess_conversation(chat(lines))) >= RiskLevel.MEDIUM


def test_a_pile_on_by_two_senders_is_flagged() -> None:
    lines = [
        ("user1", "new gc, don't add jess"),
        ("user2", "your hair is ridiculous today"),
        ("user3", "you smell"),
    ]
    result = assess_conversation(chat(lines))
    assert not [f for f in result.messages[1].findings if f.risk is Risk.BULLYING]
    assert any(f.risk is Risk.BULLYING for f in result.messages[2].findings)


def test_a_retort_to_a_named_recipient_in_a_group_is_not_the_second() -> None:
    tracker = ConversationTracker(participants={"amy": 14, "ben": 14, "cal": 14})
    first = tracker.add(
        Message("amy", "your hair is ridiculous today", CHAT_START, recipient="ben")
    )
    reply = tracker.add(
        Message("ben", "you smell", CHAT_START + timedelta(seconds=30), recipient="amy")
    )
    assert first.finding(Risk.BULLYING) is None
    assert reply.finding(Risk.BULLYING) is None
