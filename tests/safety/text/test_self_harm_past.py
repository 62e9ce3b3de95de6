"""Talk about the past beside a risk said to be here now (issue 12; docs/safety-log.md, "The past
beside the present"). The past-talk rule divides the model's score by ten for a message that
tells of the writer's past; a phrase saying the risk is back, still here or about to be tried
again lifts that, and the model reads the message without its past sentences. The sentences
are written here, not copied from any post.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message
from tests.safety.text.helpers import self_harm


@pytest.mark.parametrize(
    "text",
    [
        # issue 12's own shape: an attempt in the past and the intent to try again
        "I tried to kill myself when I was 15 and I'm going to try again",
        "years ago i tried to end it. im going to do it again tonight",
        # the past told first, the present after it
        "Back then I survived an overdose. I'm still suicidal, every single day, and nobody "
        "knows.",
    ],
)
def test_a_risk_said_to_be_here_now_beside_the_past_flags(text: str) -> None:
    result = assess_message(text)
    assert self_harm(text) >= RiskLevel.MEDIUM
    assert RecommendedAction.SHOW_HELPLINE in result.actions


@pytest.mark.parametrize(
    "text",
    [
        "I wanted to kill myself when I was 15",
        "I was suicidal years ago. I'm not anymore, I'm in a good place.",
        "When I was 14 I tried to kill myself. Now I volunteer at a suicide hotline and help "
        "others.",
        "A few years ago I felt like dying all the time. This time I will ask for help sooner.",
        "In the past I wanted to die. Today I am 5 years clean and happy.",
        "Years ago I was on the bridge ready to jump. Today I walked across that bridge with my "
        "daughter.",
        # an anniversary: "today" dates the past, not a present act
        "Three years ago today I tried to end my life. Today I'm training to be a nurse and I'm "
        "so glad I'm still here.",
        # someone else's past and present: not the writer
        "My friend tried to kill herself years ago and she says she will try again",
    ],
)
def test_the_past_told_as_past_still_only_signposts(text: str) -> None:
    result = assess_message(text)
    assert result.finding(Risk.SELF_HARM) is None
    assert RecommendedAction.SHOW_HELPLINE in result.actions


@pytest.mark.parametrize(
    "text",
    [
        "i tried this recipe years ago and im going to try it again",
        "I tried out for the team years ago and didn't make it. I'm going to try again this "
        "year!",
        "I used to cut when I was 13. Today I bought new razors for shaving my legs, so proud of "
        "how far I've come.",
    ],
)
def test_trying_again_at_something_else_is_not_self_harm(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE


def test_an_urge_held_off_beside_the_past_keeps_the_helplines() -> None:
    # the present phrase lifts the past rule; the model alone does not flag it, and the
    # helplines the past talk showed must not go with the rule
    text = "When I was 13 I used to cut. Last night I spent hours talking myself out of it again."
    assert RecommendedAction.SHOW_HELPLINE in assess_message(text).actions
