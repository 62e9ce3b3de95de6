"""Self-harm and suicide risk, told apart from figures of speech, always with helplines."""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message
from tests.safety.text.helpers import self_harm


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


DEPRESSION_WITHOUT_IDEATION = [
    "I've been so depressed lately. I can't get out of bed, I skip classes, nothing feels good "
    "anymore and I cry every night. My therapist says it will get better but I don't see it. "
    "I just feel empty and tired all the time.",
    "honestly i feel like such a failure. everyone in my year has their life together and i "
    "cant even answer a text without panicking. im so lonely and i hate how i look",
    "third week of not sleeping properly. the meds make me numb and without them i feel "
    "hopeless. i miss who i was before all this",
    "Grief is weird. Mum passed in March and some days I'm fine and some days I can't stop "
    "crying in the car park at work.",
]


@pytest.mark.parametrize("text", DEPRESSION_WITHOUT_IDEATION)
def test_depression_without_suicidal_intent_is_not_self_harm(text: str) -> None:
    result = assess_message(text)
    assert result.finding(Risk.SELF_HARM) is None
    assert result.level is RiskLevel.NONE


def test_despair_without_ideation_shows_helplines_without_a_finding() -> None:
    result = assess_message("i hate myself. i cant do this anymore")
    assert result.finding(Risk.SELF_HARM) is None
    assert RecommendedAction.SHOW_HELPLINE in result.actions and result.helplines


@pytest.mark.parametrize(
    "text",
    [
        "i've been depressed for months and honestly i just want to die",
        "nothing helps anymore. everyone would be better off without me",
        "so tired of everything. i keep thinking about ending it",
    ],
)
def test_depression_with_ideation_is_still_self_harm(text: str) -> None:
    assert self_harm(text) >= RiskLevel.MEDIUM


def _self_harm(text: str) -> bool:
    return any(f.risk is Risk.SELF_HARM for f in assess_message(text).findings)


@pytest.mark.parametrize(
    "text",
    [
        # a long post says what it is not in one sentence and what it is in another
        "i wish i could just fall asleep and not wake up\n\nnot in a dramatic way. i'm not "
        "gonna do anything. i just wish it would happen to me.\n\ni'm 13. i want to die",
        "I'm not going to post details. I tried last month and it didn't work. "
        "Honestly I still want to die.",
    ],
)
def test_the_writers_own_ideation_outside_talk_about_it_is_still_self_harm(text: str) -> None:
    assert _self_harm(text)


@pytest.mark.parametrize(
    "text",
    [
        # someone else's words, quoted in another sentence of a friend's post
        "My best friend keeps saying she wants to die and I don't know what to do. For weeks "
        'she has said stuff like "I wish I could just disappear". How do I help her?',
        # drink and drugs, and the fear of dying, are not self-harm
        "After a little over a year of being sober, I relapsed and haven't stopped drinking.",
        "I had a panic attack because I'm convinced I'm going to die of sepsis.",
        "pinkish urine and blackouts. am i gonna die? i really dont know",
    ],
)
def test_quotes_relapses_and_health_fears_are_not_the_writer_at_risk(text: str) -> None:
    assert not _self_harm(text)
