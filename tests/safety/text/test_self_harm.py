"""Self-harm and suicide risk, told apart from figures of speech, always with helplines."""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message


def self_harm(text: str) -> RiskLevel:
    finding = assess_message(text).finding(Risk.SELF_HARM)
    return RiskLevel.NONE if finding is None else finding.level


@pytest.mark.parametrize(
    "text",
    ["i want to die", "i don't want to live anymore", "i cut myself again last night"],
)
def test_ideation_and_self_harm_are_found_with_helplines(text: str) -> None:
    result = assess_message(text)
    assert self_harm(text) >= RiskLevel.MEDIUM
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines


def test_plan_with_timing_is_imminent_and_escalated() -> None:
    result = assess_message("i have a plan to kill myself, i'm doing it tonight")
    assert self_harm("i have a plan to kill myself, i'm doing it tonight") is RiskLevel.IMMINENT
    assert RecommendedAction.ESCALATE_MODERATOR in result.actions


def test_asking_about_means_is_imminent() -> None:
    assert self_harm("i want to die. how many pills would it take") is RiskLevel.IMMINENT


@pytest.mark.parametrize(
    "text",
    [
        "this homework is killing me",
        "i'm dead 💀💀",
        "i died laughing at that tiktok",
        "my mom is gonna kill me",
        "i'm dying of boredom in this class",
        "my phone is about to die",
        "i cut my finger cutting an apple haha",
        "we jumped off the high dive!",
        "kill me now this lesson is so long lol",
        "suicide prevention week starts monday",
    ],
)
def test_figures_of_speech_are_not_self_harm(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE


def test_negated_statement_is_not_flagged() -> None:
    assert self_harm("i'm not going to kill myself, don't worry") is RiskLevel.NONE


def test_joking_ideation_is_still_signposted_but_low() -> None:
    result = assess_message("i want to die lol")
    level = self_harm("i want to die lol")
    assert level <= RiskLevel.LOW
    if level is RiskLevel.LOW:
        assert RecommendedAction.SHOW_HELPLINE in result.actions


def test_evasive_spelling_is_found() -> None:
    assert self_harm("i w4nt to k1ll mys3lf") >= RiskLevel.MEDIUM
