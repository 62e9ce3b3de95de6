"""A child disclosing personal information is found, pointed at, and redacted."""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, assess_message


def stage_of(text: str) -> tuple[str, ...]:
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    return () if finding is None else finding.stages


@pytest.mark.parametrize(
    ("text", "stage", "redacted"),
    [
        ("my number is 07700 900123", "phone", "my number is [phone]"),
        ("email me at lily_rose@hotmail.co.uk", "email", "email me at [email]"),
        ("i live at 42 Oak Street", "address", "i live at [address]"),
        ("my postcode is SW1A 1AA", "address", "my postcode is [postcode]"),
        ("i go to Riverside High School", "school", "i go to [school]"),
        ("my full name is Emma Johnson", "name", "my full name is [name]"),
        ("im 13 and live in Leeds", "age_location", "im 13 and live in [location]"),
        ("my snap is lily.rose2012", "handle", "my snap is [handle]"),
        ("my discord is gamerkid#4821", "handle", "my discord is [handle]"),
    ],
)
def test_disclosure_is_found_and_redacted(text: str, stage: str, redacted: str) -> None:
    result = assess_message(text)
    assert stage in stage_of(text)
    assert result.redacted == redacted


def test_live_location_link_is_personal_information() -> None:
    assert "live_location" in stage_of("here's my location https://maps.app.goo.gl/abc123")


def test_redacted_copy_keeps_the_rest_of_the_message() -> None:
    result = assess_message("ok!! my number is 07700 900123, text me after 6 😊")
    assert result.redacted == "ok!! my number is [phone], text me after 6 😊"


@pytest.mark.parametrize(
    "text",
    [
        "we won 3-1!!!",
        "the test is on 12.05.2026",
        "i got 100 views on my video",
        "my name is sam lol",
        "i go to bed at 10",
        "add me on roblox i'll send you a friend request",
        "i'm at my grandparents house, no wifi lol",
    ],
)
def test_numbers_and_names_that_are_not_disclosures_pass(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_to_dict_never_contains_the_original_text() -> None:
    text = "my number is 07700 900123"
    out = assess_message(text).to_dict(include_redacted=False)
    assert "07700" not in str(out)
    assert "redacted" not in out


def test_child_telling_an_adult_scores_higher_than_telling_a_friend() -> None:
    text = "i live at 42 oak street"
    to_adult = assess_message(text, sender="child", recipient="adult").finding(Risk.PERSONAL_INFO)
    to_friend = assess_message(text, sender="child", recipient="child").finding(Risk.PERSONAL_INFO)
    assert to_adult is not None
    assert to_friend is not None
    assert to_adult.score > to_friend.score
