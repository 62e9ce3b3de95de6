"""Bullying aimed at a person, told apart from banter and game talk."""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message
from tests.safety.text.helpers import bullying


@pytest.mark.parametrize("text", ["kys", "k y s", "go kill yourself", "KYS 💀"])
def test_telling_someone_to_kill_themselves_is_high_and_signposts_help(text: str) -> None:
    result = assess_message(text)
    assert bullying(text) >= RiskLevel.HIGH
    assert RecommendedAction.SHOW_HELPLINE in result.actions


def test_exclusion_is_bullying() -> None:
    assert bullying("nobody likes you, don't sit with us") >= RiskLevel.LOW


def test_threat_of_violence_in_real_life_is_bullying() -> None:
    assert bullying("i'm going to beat you up after school") >= RiskLevel.MEDIUM


def test_kill_you_in_this_round_is_game_talk() -> None:
    assert bullying("i'm going to kill you in this round") is RiskLevel.NONE


def test_threat_in_a_gaming_conversation_is_softened() -> None:
    assert bullying("i'm gonna destroy you", gaming_context=True) is RiskLevel.NONE


def test_threat_in_a_game_that_mentions_real_life_is_not_softened() -> None:
    assert bullying("gg but i'll hurt you for real after school") >= RiskLevel.MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        "you're such a noob lmao",
        "ur trash at this game lol jk",
        "you're annoying but i love you",
        "you're so weird lol i love it",
        "shut up lol you're funny",
    ],
)
def test_banter_between_friends_is_not_bullying(text: str) -> None:
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    ["this game is so stupid", "i'm such an idiot i forgot my bag", "my mum is gonna kill me"],
)
def test_insults_not_aimed_at_a_person_are_not_bullying(text: str) -> None:
    assert bullying(text) is RiskLevel.NONE


def test_severe_slur_is_not_softened_by_lol() -> None:
    assert bullying("you're a worthless slut lol") >= RiskLevel.LOW


def _threat(text: str) -> bool:
    finding = assess_message(text).finding(Risk.BULLYING)
    return finding is not None and "threat" in finding.stages


@pytest.mark.parametrize(
    "text",
    [
        "What are you wearing so I can find you",  # two adults finding each other in a pub
        "let me find you a seat",
        "i can find you after school, where do you get picked up",
        "ill find you a seat",
        "ill shoot you a text later",
        "i want to find you on insta",
        "ill beat you to it",
    ],
)
def test_a_verb_meant_kindly_is_no_threat(text: str) -> None:
    """"find", "beat", "shoot" you have kind senses: a threat needs them said as a vow, not
    "i can" or "let me", and not doing something for the reader (issue 12 review)."""
    assert not _threat(text)


@pytest.mark.parametrize(
    "text",
    [
        "i'll find you",
        "ill find where u live",
        "i can find out where you live",
        "i will hurt you",
        "i could kill you",
        "im gonna beat you up",
        "we'll find you after school",
    ],
)
def test_a_threat_said_as_a_vow_is_a_threat(text: str) -> None:
    assert _threat(text)


@pytest.mark.parametrize(
    "text",
    [
        "he said 'how stupid you are' to me",
        'he said "how stupid you are" to me',
        "my teacher told me how stupid you are is a bad thing to say",
        'she wrote "ur such a loser" on my post',
        'he told me "you are an idiot"',
    ],
)
def test_an_insult_reported_or_quoted_is_not_the_writer_bullying(text: str) -> None:
    """The words are someone else's, said to the writer: no bullying finding for the report
    (docs/safety-log.md, "Quoted insults")."""
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "how stupid you are",
        "i said how stupid you are",
        "everyone says ur ugly",
        "he said ur a loser to everyone",
        'she said "hi" to me, ur so ugly',
        "he said nothing to me, ur such a loser",
    ],
)
def test_an_insult_passed_on_or_beside_a_report_still_flags(text: str) -> None:
    assert bullying(text) >= RiskLevel.LOW
