""""Met" written for "meet": a meeting request when the request is around it, never a meeting
that happened (issue 12). `me{2}t` stopped "meet" reading "met" in the thirteenth session;
these requests were the cost."""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_conversation, assess_message

from .helpers import chat


def meeting_cues(text: str) -> list[str]:
    """The meeting cues an adult's message to a child gives (weak ones included)."""
    result = assess_message(text, sender="adult", recipient="child")
    return [hit.cue for hit in result.hits if hit.risk is Risk.GROOMING and hit.stage == "meeting"]


@pytest.mark.parametrize(
    "text",
    [
        "can we met up tmrw",
        "wanna met irl",
        "when can we met?",
        "can we met up after school",
        "can we met up on saturday",
        "i could met you at the park",
    ],
)
def test_met_with_a_request_around_it_is_a_meeting_request(text: str) -> None:
    assert meeting_cues(text)


def test_a_misspelt_meeting_request_from_an_adult_flags_the_message() -> None:
    finding = assess_message("can we met up tmrw", sender="adult", recipient=13).finding(
        Risk.GROOMING
    )
    assert finding is not None and finding.level >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        "since we met",
        "ever since we met youve been so nice to me",
        "nice to met you",  # a greeting when people meet: no request
        "i met him yesterday",
        "we met at the mall on saturday",
        "we just met",
        "when we met at the party she was nice",
        "when can we met her parents",
    ],
)
def test_a_meeting_that_happened_is_no_meeting_request(text: str) -> None:
    assert meeting_cues(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "can we meet up tmrw",
        "wanna meet irl",
        "when can we meet?",
        # a place or a time alone is no request: kids plan this among themselves every day
        "lets meet at the mall",
        "can we meet saturday at the library",
        "can we meet up",
    ],
)
def test_in_a_request_met_reads_as_meet_does(text: str) -> None:
    assert meeting_cues(text.replace("meet", "met")) == meeting_cues(text)


# flattery -> secrecy -> off-platform -> a meeting asked for with the misspelling
MISSPELT = [
    ("dan", "you're honestly so mature for 13, way smarter than people my age"),
    ("jess", "lol thanks"),
    ("dan", "don't tell your parents we talk ok? they wouldn't get it"),
    ("jess", "ok i won't"),
    ("dan", "add me on snap, it's safer there"),
    ("dan", "can we met up tmrw"),
]


def test_the_tracker_counts_a_misspelt_meeting_request_as_the_meeting_stage() -> None:
    result = assess_conversation(chat(MISSPELT), participants={"dan": 30, "jess": 13})
    finding = result.finding(Risk.GROOMING)
    assert finding is not None
    assert "meeting" in finding.stages


def test_the_tracker_reads_since_we_met_as_no_meeting() -> None:
    lines = [*MISSPELT[:-1], ("dan", "ever since we met ur all i think about")]
    result = assess_conversation(chat(lines), participants={"dan": 30, "jess": 13})
    finding = result.finding(Risk.GROOMING)
    assert finding is None or "meeting" not in finding.stages
