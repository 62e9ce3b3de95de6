"""Self-harm errors by kind from the hand audit of RMHD's DEV half (data/evaluation/
rmhd-dev-audit.tsv; docs/safety-log.md, "What the RMHD label says"). Only errors the audit judged
genuine (the writer at risk and missed, or not at risk and flagged) are fixed; the sentences
are written here, not copied from the posts.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, RiskLevel, assess_message
from tests.safety.text.helpers import self_harm


@pytest.mark.parametrize(
    "text",
    [
        # the present beside the past: "a few months ago" no longer hides it
        "I was doing a bit better a few months ago. Now I don't think I can go on any longer.",
        "I don't think i can go on any longer",
        # the word misspelt, as people type it
        "the thoughts of sucide keep coming back every night",
        # a method asked about with a word before it
        "Been thinking about it for weeks. Does slow hanging hurt?",
    ],
)
def test_ideation_and_method_questions_the_cues_did_not_know_flag(text: str) -> None:
    assert self_harm(text) >= RiskLevel.MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        "i was suicidal last year but it got better. tonight i want to hurt myself.",
        "Every day in class I think that I'm gonna go home and commit suicide.",
        "I just tried attempting suicide but I stopped halfway",
        "I keep thinking about committing suicide.",
    ],
)
def test_urges_attempts_and_daily_ideation_flag(text: str) -> None:
    # the shipped model already flags these short forms; the cues added for them hold in long
    # posts, where the model's score is diluted or divided by the talk about the past
    assert self_harm(text) >= RiskLevel.MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        # the fear of being alone, not a wish to die
        "My anxiety keeps telling me I'm gonna die alone and that nobody likes me",
        "I'm going to die alone with 12 cats lol",
        "i know im going to die alone",
        # a condition that "is killing me" (the shipped model leaves these short forms alone;
        # the fold without RMHD flagged the long posts they come from)
        "My health anxiety is killing me, every twinge feels like cancer",
        "this ptsd is killing me, I can't sleep more than two hours",
        "Anxiety is killing me. Any of these sound right?",
        # someone else's thoughts
        "My daughter told me she has been having thoughts of suicide since the summer. How do I "
        "help her?",
        # the urge denied, someone else's
        "I don't want to hurt myself, I just want to sleep better",
        "My friend keeps saying she wants to hurt herself",
    ],
)
def test_dying_alone_and_conditions_that_kill_are_not_self_harm(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "i want to die alone in the woods",
        "im gonna go home and end it all tonight",
    ],
)
def test_the_exclusions_leave_the_wish_itself(text: str) -> None:
    assert self_harm(text) >= RiskLevel.MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        "i hate my life so much, i cant take it anymore, broke my nose again",
        "I'm so empty and tired of everything. my nose is broken and i'm done with everyone",
        "i hate myself so much, i just want to punch my own nose",
    ],
)
def test_a_nose_is_not_a_noose(text: str) -> None:
    """The model alone flags self-harm from its low level only when the message speaks of
    death or its means; doubled letters are optional in the lexicon's patterns, so "noose"
    there also read "nose" (a broken nose in r/ptsd). Despair without ideation still gets the
    helplines."""
    assert self_harm(text) is RiskLevel.NONE
    assert RecommendedAction.SHOW_HELPLINE in assess_message(text).actions
