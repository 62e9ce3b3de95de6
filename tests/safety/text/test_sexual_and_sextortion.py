"""Sexual content and sextortion (threats to share images, demands, leverage)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kidshield.safety.text import (
    RecommendedAction,
    Risk,
    RiskLevel,
    assess_conversation,
    assess_message,
)
from kidshield.safety.text.conversation import (
    HALF_LIFE,
    ConversationAssessment,
    ConversationState,
    ConversationTracker,
)
from kidshield.safety.text.state import Message
from tests.safety.text.helpers import CHAT_START, chat


@pytest.mark.parametrize(
    "text", ["send nudes", "i want to have sex with you", "🍆🍑", "you make me so horny"]
)
def test_explicit_sexual_talk_is_sexual_content(text: str) -> None:
    assert Risk.SEXUAL_CONTENT in assess_message(text).risks


@pytest.mark.parametrize(
    "text",
    [
        "fuck this homework",
        "that level was so hard",
        "i got soaked in the rain, i'm so wet lol",
        "i love eggplant 🍆 parmesan",
        "my mum screwed up the cake lol",
    ],
)
def test_swearing_and_innocent_words_are_not_sexual_content(text: str) -> None:
    assert Risk.SEXUAL_CONTENT not in assess_message(text).risks


def test_threat_with_demand_is_imminent_sextortion_with_helpline() -> None:
    result = assess_message("i'll send your nudes to all your friends unless you pay me $200")
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None
    assert finding.level is RiskLevel.IMMINENT
    assert RecommendedAction.ESCALATE_MODERATOR in result.actions
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert any("Take It Down" in line.name for line in result.helplines)


def test_claiming_to_hold_images_plus_threat_is_sextortion() -> None:
    result = assess_message("i screenshotted your pics, send more or i'll post them everywhere")
    assert Risk.SEXTORTION in result.risks


@pytest.mark.parametrize(
    "text",
    [
        "i'll send the homework to the group chat",
        "i'll post the pics from the trip tomorrow",
        "send me the photos from the party",
        "i'll show your drawing to the class, it's so good",
    ],
)
def test_sharing_ordinary_things_is_not_sextortion(text: str) -> None:
    assert Risk.SEXTORTION not in assess_message(text).risks


def _mentions(text: str) -> list[str]:
    """The words a ``sexual_mentions`` cue took in ``text``."""
    result = assess_message(text)
    return [text[h.start : h.end] for h in result.hits if h.cue == "sexual_mentions"]


@pytest.mark.parametrize(
    "text",
    ["see u tmrw xx", "night love you x", "miss u xx", "love you loads xxx", "x", "ok xxxx"],
)
def test_a_kiss_sign_is_no_sexual_mention(text: str) -> None:
    # the full view makes "xxx" one "x" and the lexicon's "xxx" read as `xx?x?`: every kiss hit
    assert _mentions(text) == []


@pytest.mark.parametrize(
    "text", ["found some xxx vids", "he watches XXX videos", "dont go on that xxx site",
             "xxx movies lol", "onlyfans", "watching porn"],
)
def test_porn_slang_is_still_a_sexual_mention(text: str) -> None:
    assert _mentions(text)


@pytest.mark.parametrize("text", ["what r u wearing rn", "what r u wearing"])
def test_what_a_reader_wears_asked_by_an_adult_of_a_minor_is_sexual_content(text: str) -> None:
    """Between adults or peers the question alone is small talk (no sexual word: the model
    alone does not flag it); from an adult to a child or teen it is what the risk is about."""
    to_minor = assess_message(text, sender="adult", recipient="teen")
    assert any(f.risk is Risk.SEXUAL_CONTENT for f in to_minor.findings)
    for sender, recipient in (("adult", "adult"), ("teen", "teen")):
        between = assess_message(text, sender=sender, recipient=recipient)
        assert not any(f.risk is Risk.SEXUAL_CONTENT for f in between.findings), (sender, text)


THREAT = "i'll send your nudes to all your friends unless you pay me $200"


def _sextortion(result: ConversationAssessment) -> RiskLevel:
    finding = result.finding(Risk.SEXTORTION)
    assert finding is not None
    return finding.level


def test_the_conversation_stays_imminent_for_a_week_after_a_threat_with_a_demand() -> None:
    # the conversation's sextortion finding came from decayed scores alone: "high" in the next
    # call, though the threat's message was imminent
    first = assess_conversation([Message("m", THREAT, CHAT_START)], participants={"m": "adult"})
    assert _sextortion(first) is RiskLevel.IMMINENT
    later = CHAT_START + timedelta(days=1)
    calm = assess_conversation([Message("m", "well?", later)], state=first.state.to_dict())
    assert (calm.level, _sextortion(calm)) == (RiskLevel.IMMINENT, RiskLevel.IMMINENT)
    (found,) = [f for f in calm.findings if f.risk is Risk.SEXTORTION]
    assert found.score < 0.95 and {n for n, _span in found.evidence} == {0}
    # after one sextortion half-life the decayed score alone gives the level again
    gone = CHAT_START + timedelta(seconds=HALF_LIFE[Risk.SEXTORTION], minutes=1)
    tracker = ConversationTracker(ConversationState.from_dict(calm.state.to_dict()))
    tracker.add(Message("m", "ok", gone))
    (found,) = [f for f in tracker.last_findings if f.risk is Risk.SEXTORTION]
    assert found.level is RiskLevel.LOW  # half of 0.99


def test_the_trackers_findings_say_imminent_after_the_threat() -> None:
    tracker = ConversationTracker()
    for message in chat([("m", THREAT), ("m", "well?"), ("a", "please dont")], CHAT_START):
        tracker.add(message)
        (found,) = [f for f in tracker.last_findings if f.risk is Risk.SEXTORTION]
        assert found.level is RiskLevel.IMMINENT, message.text
    assert tracker.assessment(()).level is RiskLevel.IMMINENT


def test_a_high_sextortion_message_leaves_the_conversation_below_imminent() -> None:
    result = assess_conversation(chat([("m", "pay me or everyone sees your nudes"), ("m", "ok")]))
    assert _sextortion(result) is RiskLevel.HIGH
