"""The messages issue 12 names, and its hard negatives, handled as a person would expect
(no ages given, as on a public corpus, unless the case is about ages)."""

from __future__ import annotations

import pytest

from kidshield.safety.text import RecommendedAction, Risk, RiskLevel, assess_message
from tests.safety.text.helpers import level


@pytest.mark.parametrize(
    "text",
    [
        "I'm killing myself tonight",
        "next step is to get the rope",
        "found a longer belt",
        "i have the pills saved for tonight and im ready",
    ],
)
def test_self_harm_plans_and_means_are_high_or_imminent(text: str) -> None:
    result = assess_message(text)
    assert level(text, Risk.SELF_HARM) >= RiskLevel.HIGH
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines


@pytest.mark.parametrize(
    "text",
    [
        "your suicidal thoughts could be a sign of depression, please talk to someone",
        "if you're feeling suicidal please reach out to a helpline, you are not alone",
        "suicide prevention week starts monday",
        "the article said suicide rates among teens are rising",
        "i'm not going to kill myself, don't worry",
    ],
)
def test_support_news_and_negation_are_not_the_writer_at_risk(text: str) -> None:
    assert level(text, Risk.SELF_HARM) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "I wanted to kill myself when I was 15",
        "my friend told me she is going to kill herself tonight",
        "my best friend says he wants to end his life, what do i do",
    ],
)
def test_past_and_someone_elses_crisis_signpost_help_without_flagging_the_writer(
    text: str,
) -> None:
    result = assess_message(text)
    assert result.finding(Risk.SELF_HARM) is None
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines


@pytest.mark.parametrize("text", ["asl", "asl?", "where are you from", "hey where r u from"])
@pytest.mark.parametrize(("sender", "recipient"), [(None, None), ("adult", "child")])
def test_asl_and_where_are_you_from_alone_are_not_grooming(
    text: str, sender: str | None, recipient: str | None
) -> None:
    assert level(text, Risk.GROOMING, sender=sender, recipient=recipient) is RiskLevel.NONE


def test_sextortion_threat_with_a_demand_is_imminent() -> None:
    text = "if you don't send more pics I'll show everyone the ones you sent"
    result = assess_message(text)
    assert level(text, Risk.SEXTORTION) is RiskLevel.IMMINENT
    assert RecommendedAction.ESCALATE_MODERATOR in result.actions
    assert RecommendedAction.SHOW_HELPLINE in result.actions


@pytest.mark.parametrize(
    ("text", "sender", "recipient"),
    [
        ("ur cute, wanna go to the dance with me friday?", 14, 15),
        ("lol ur so annoying but ily", 13, 13),
        ("never share your address with people you meet online", "adult", "child"),
        ("remember: don't send pics to anyone you don't know irl", "adult", "teen"),
        ("gg ez, i'm gonna destroy you next round", None, None),
        ("that test killed me lol", None, None),
    ],
)
def test_hard_negatives_stay_unflagged(
    text: str, sender: str | int | None, recipient: str | int | None
) -> None:
    assert assess_message(text, sender=sender, recipient=recipient).findings == ()


@pytest.mark.parametrize(
    "text", ["you're such a pathetic loser, everyone hates you", "shut up you fat cow"]
)
def test_targeted_insults_are_bullying(text: str) -> None:
    assert level(text, Risk.BULLYING) >= RiskLevel.LOW


def test_every_finding_is_explained_by_spans_in_the_original_text() -> None:
    for text in [
        "you're such a pathetic loser, everyone hates you",
        "I'm killing myself tonight",
        "nobody would even notice if i was gone tbh",
        "ur a waste of oxygen",
    ]:
        for finding in assess_message(text).findings:
            assert finding.spans, (text, finding)
            for span in finding.spans:
                assert 0 <= span.start < span.end <= len(text)
                assert text[span.start : span.end].strip()


def test_model_only_finding_points_at_the_words_that_raised_it() -> None:
    text = "ur a waste of oxygen honestly"
    finding = assess_message(text).finding(Risk.BULLYING)
    assert finding is not None
    assert {span.label for span in finding.spans} <= {"model"} | {
        h.cue for h in assess_message(text).hits
    }
    assert any("waste" in text[s.start : s.end] or "oxygen" in text[s.start : s.end]
               for s in finding.spans)
