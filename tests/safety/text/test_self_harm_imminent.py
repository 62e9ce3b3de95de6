"""A plan with its time said plainly is imminent, in either order (issue 12, a user's walk);
what is not a plan keeps the level it had; one finding's spans never overlap."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from kidshield.safety.text import (
    ConversationState,
    Message,
    Risk,
    RiskLevel,
    assess_conversation,
    assess_message,
)
from kidshield.safety.text.conversation import (
    HALF_LIFE,
    ConversationAssessment,
    ConversationTracker,
)
from tests.safety.text.helpers import CHAT_START, chat, self_harm

WALK = [
    "i want to kill myself tonight",
    "tonight i am going to kill myself",
    "i will end it tonight, i have the pills ready",
]


@pytest.mark.parametrize(
    "text",
    [
        *WALK,
        "im going to kill myself tonight",
        "i wanna end it all tonight",
        "tomorrow after school i will kill myself",
        "at 3am im going to end my life",
        "when everyone's asleep i'm going to take them all",
        "i want to die tonight",
        "im going to kill myself. tonight.",
        "tonight. im going to kill myself",
        "tomorrow, after school, i will kill myself",
        "ive been saving up my meds. i want to die",
        "I have the rope ready. I want to die",
    ],
)
def test_intent_with_a_time_or_means_made_ready_is_imminent(text: str) -> None:
    finding = assess_message(text).finding(Risk.SELF_HARM)
    assert finding is not None and finding.level is RiskLevel.IMMINENT
    assert "plan" in finding.stages or "means" in finding.stages  # a cue said so, not the model


@pytest.mark.parametrize(
    "text",
    [
        # foretold, not wished: a test, a match, a telling-off
        "im going to die tomorrow the exam is impossible",
        # a time that belongs to the sentence before, or to the one after
        "i failed my test today. i want to die",
        "i want to die. today was awful",
        # a condition is not a time (the joke keeps the level it had: low)
        "i'm gonna kill myself if i fail this test tomorrow lol",
        "i will kill myself tomorrow if my mum finds out",
        "if i want to kill myself tonight i will call someone",
        # someone's words, not the writer's plan
        'the song goes "i want to kill myself tonight"',
        # not about oneself
        "im going to end it with him tonight",
    ],
)
def test_what_is_not_a_plan_of_ones_own_is_not_imminent(text: str) -> None:
    assert self_harm(text) < RiskLevel.IMMINENT


@pytest.mark.parametrize(
    "text",
    [
        "i'm not going to kill myself tonight, don't worry",
        "he is going to kill himself tonight",
        "my friend said she wants to kill herself tonight",
        "if you want to kill yourself tonight please call 988",
        "ive been saving up my meds",  # means made ready, alone, flag nothing
    ],
)
def test_negation_others_and_support_and_means_alone_are_not_the_writer_at_risk(
    text: str,
) -> None:
    assert self_harm(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text", [*WALK, "im going to kill myself tonight", "i have the rope ready. i want to die"]
)
def test_one_findings_spans_do_not_overlap(text: str) -> None:
    for finding in assess_message(text).findings:
        spans = sorted((span.start, span.end) for span in finding.spans)
        assert all(end <= start for (_s, end), (start, _e) in pairwise(spans))
    finding = assess_message("i want to kill myself tonight").finding(Risk.SELF_HARM)
    assert finding is not None
    assert [(s.start, s.end, s.label) for s in finding.spans] == [(0, 29, "intent_with_time")]


def test_the_tracker_escalates_the_walks_messages_as_imminent() -> None:
    tracker = ConversationTracker()
    for message in chat([("kim", text) for text in WALK], CHAT_START):
        assessment = tracker.add(message)
        finding = assessment.finding(Risk.SELF_HARM)
        assert finding is not None and finding.level is RiskLevel.IMMINENT, message.text
    # the conversation's evidence: one span per stretch of words in each message
    (found,) = [f for f in tracker.last_findings if f.risk is Risk.SELF_HARM]
    for index in range(len(WALK)):
        spans = sorted((s.start, s.end) for i, s in found.evidence if i == index)
        assert spans and all(end <= start for (_s, end), (start, _e) in pairwise(spans))


def _self_harm(result: ConversationAssessment) -> tuple[RiskLevel, list[int]]:
    finding = result.finding(Risk.SELF_HARM)
    assert finding is not None
    return finding.level, sorted({number for number, _span in finding.evidence})


def test_the_conversation_stays_imminent_while_the_plan_is_recent() -> None:
    # the conversation's own finding was built from decayed scores alone: at most high, though
    # the plan's message was imminent (and the next call, from the state, said high)
    start = [Message("kim", "i want to kill myself tonight", CHAT_START)]
    first = assess_conversation(start)
    assert first.level is RiskLevel.IMMINENT
    assert _self_harm(first) == (RiskLevel.IMMINENT, [0])
    later = CHAT_START + timedelta(hours=20)
    calm = assess_conversation([Message("kim", "ok see u", later)], state=first.state.to_dict())
    assert calm.level is RiskLevel.IMMINENT
    assert _self_harm(calm) == (RiskLevel.IMMINENT, [0])  # the plan's message as evidence
    # after one self-harm half-life the decayed score alone gives the level again
    gone = CHAT_START + timedelta(seconds=HALF_LIFE[Risk.SELF_HARM], minutes=1)
    tracker = ConversationTracker(ConversationState.from_dict(calm.state.to_dict()))
    tracker.add(Message("kim", "ok", gone))
    (found,) = [f for f in tracker.last_findings if f.risk is Risk.SELF_HARM]
    assert found.level is RiskLevel.LOW


def test_the_trackers_findings_say_imminent_after_the_plan() -> None:
    tracker = ConversationTracker()
    lines = [("kim", "i want to kill myself tonight"), ("kim", "whatever"), ("sam", "hey")]
    for message in chat(lines, CHAT_START):
        tracker.add(message)
        (found,) = [f for f in tracker.last_findings if f.risk is Risk.SELF_HARM]
        assert found.level is RiskLevel.IMMINENT, message.text
    assert tracker.state.first_flagged["self_harm"]["imminent"] == 0
    assert tracker.assessment(()).level is RiskLevel.IMMINENT


def test_a_high_self_harm_message_leaves_the_conversation_below_imminent() -> None:
    result = assess_conversation(chat([("kim", "i want to die"), ("kim", "whatever")]))
    level, _ = _self_harm(result)
    assert RiskLevel.NONE < level < RiskLevel.IMMINENT
