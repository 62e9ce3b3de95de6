"""What holding lone teasing cost in missed bullying (issue 12, thirteenth session;
docs/safety-log.md, "What the held-teasing rule costs"). Whole conversations through the public
``assess_conversation``; fails on main ``993747cc``, where the second line was held as
teasing."""

from __future__ import annotations

from kidshield.safety.text.conversation import ConversationAssessment, assess_conversation
from kidshield.safety.text.model import Risk, RiskLevel
from tests.safety.text.helpers import chat


def _flagged(result: ConversationAssessment, number: int) -> bool:
    return any(
        f.risk is Risk.BULLYING and f.level >= RiskLevel.LOW
        for f in result.messages[number].findings
    )


def test_more_from_a_sender_already_flagged_for_bullying_is_flagged() -> None:
    lines = [
        ("kid_a", "hi"),
        ("kid_b", "hey"),
        ("kid_b", "you're such a loser"),
        ("kid_a", "?"),
        ("kid_b", "your hair is ridiculous today"),
    ]
    result = assess_conversation(chat(lines), participants={"kid_a": 13, "kid_b": 13})
    assert _flagged(result, 2)
    assert _flagged(result, 4)

