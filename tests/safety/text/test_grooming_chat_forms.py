"""Grooming moves in the short forms chat writes them in (issue 12, fourteenth session): the
grooming misses of both writers' DEV conversations asked these without the verb, with a
platform for the phone, or with "convos" for the chat; each answered nothing on main."""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, assess_message


def grooming_stages(text: str) -> list[str]:
    result = assess_message(text, sender="adult", recipient="child")
    return [hit.stage for hit in result.hits if hit.risk is Risk.GROOMING]


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("your parents check your ipad?", "risk_assessment"),
        ("does ur dad look at ur insta", "risk_assessment"),
        ("they ever check ur msn", "risk_assessment"),
        ("ur mum at work?", "risk_assessment"),
        ("delete our convos when ur done ok", "secrecy"),
        ("delete our messages", "secrecy"),
        ("what u wearing rn", "sexual"),
        ("what r u wearing to bed", "sexual"),
    ],
)
def test_a_move_in_chat_form_is_read(text: str, stage: str) -> None:
    assert stage in grooming_stages(text)


@pytest.mark.parametrize(
    "text",
    [
        "what are you wearing to school tomorrow",
        "what u wearing to the party",
        "say hi to your mum at work",  # not a question
        "my parents check my phone every night",
        "delete my message lol wrong chat",
    ],
)
def test_the_everyday_forms_stay_clear(text: str) -> None:
    assert grooming_stages(text) == []


def test_one_question_is_one_hit() -> None:
    """The verbless form does not read "are your parents asleep?" a second time."""
    assert grooming_stages("are your parents asleep?") == ["risk_assessment"]
