"""Grooming, by stage: the direction and ages of the speakers matter."""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message


def grooming(text: str, sender: str | None = "adult", recipient: str | None = "child") -> float:
    finding = assess_message(text, sender=sender, recipient=recipient).finding(Risk.GROOMING)
    return 0.0 if finding is None else finding.score


def stages(text: str) -> tuple[str, ...]:
    """The grooming stages a message gives evidence of (also weak cues, which the
    conversation tracker adds up but which do not flag a message on their own)."""
    result = assess_message(text, sender="adult", recipient="child")
    return tuple(hit.stage for hit in result.hits if hit.risk is Risk.GROOMING)


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("you're so mature for your age", "rapport"),
        ("i'll buy you robux if you want", "gifts"),
        ("nobody understands you like i do", "exclusivity"),
        ("don't tell your parents about us", "secrecy"),
        ("delete this chat after you read it", "secrecy"),
        ("are you home alone right now?", "risk_assessment"),
        ("does your mum check your phone?", "risk_assessment"),
        ("have you ever touched yourself", "sexual"),
        ("age is just a number", "desensitisation"),
        ("send me a pic in your underwear", "image_request"),
        ("let's talk on snap instead, it's more private", "off_platform"),
        ("come alone, don't bring your friends", "meeting"),
    ],
)
def test_each_grooming_stage_is_named(text: str, stage: str) -> None:
    assert stage in stages(text)


def test_secrecy_request_from_adult_to_child_is_grooming() -> None:
    result = assess_message("don't tell your parents we talk", sender="adult", recipient=12)
    finding = result.finding(Risk.GROOMING)
    assert finding is not None
    assert finding.level >= RiskLevel.MEDIUM
    assert RecommendedAction.NOTIFY_GUARDIAN in result.actions


def test_adult_asking_child_if_alone_counts_more_than_unknown_sender() -> None:
    text = "are you alone?"
    assert grooming(text, "adult", "child") > grooming(text, None, None) > 0


def test_two_fourteen_year_olds_planning_to_meet_at_the_mall_is_not_grooming() -> None:
    result = assess_message("we should meet up irl at the mall saturday", sender=14, recipient=14)
    assert result.finding(Risk.GROOMING) is None


def test_adult_asking_child_to_meet_in_person_is_grooming() -> None:
    assert grooming("we should meet up in person, dont bring anyone", "adult", "teen") >= 0.8


def test_peers_asking_if_parents_are_home_is_not_grooming() -> None:
    assert grooming("are your parents home? can i come over", 13, 13) == 0.0


def test_image_request_among_peers_still_flags() -> None:
    result = assess_message("send nudes", sender=15, recipient=15)
    assert Risk.GROOMING in result.risks or Risk.SEXUAL_CONTENT in result.risks


@pytest.mark.parametrize(
    "text",
    [
        "don't tell jake about the surprise party ok",
        "your drawing is amazing",
        "can you send me the photo from the trip",
        "my mum can pick us up after the concert",
        "send me a pic of your puppy",
        "what page was the science homework on",
    ],
)
def test_ordinary_messages_are_not_grooming_even_from_an_adult(text: str) -> None:
    assert grooming(text, "adult", "child") < 0.3


def test_evasive_spelling_of_a_secrecy_request_is_still_found() -> None:
    assert grooming("d0n't t3ll y0ur p4r3nts") >= 0.55
