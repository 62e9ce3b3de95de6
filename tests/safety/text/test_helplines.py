"""The helplines that come with a message's findings are chosen from the shipped helpline data
(one copy, per country) by ``policy.helplines.choose``: a crisis line for self-harm, the national
online-abuse hotline and Take It Down for sextortion, for the age of the person who needs them.
The API's country field: tests/safety/text/test_api.py."""

from __future__ import annotations

import pytest

from kidshield.errors import InputError
from kidshield.policy.helplines import Helpline, HelplineBook, Kind
from kidshield.safety.text import assess_conversation, assess_message

THREAT = "i'll send your nudes to all your friends unless you pay me $200"


def ids(lines: tuple[Helpline, ...]) -> list[str]:
    return [line.id for line in lines]


def test_sextortion_leads_with_the_national_hotline_then_take_it_down() -> None:
    result = assess_message(THREAT, sender="adult", recipient=14, country="GB")
    assert ids(result.helplines)[:3] == ["gb-ceop", "world-take-it-down", "gb-childline"]


def test_self_harm_leads_with_a_crisis_line_for_a_teen_and_the_child_line_for_a_child() -> None:
    teen = assess_message("i want to die", sender=15, country="US")
    assert teen.helplines[0].kind is Kind.CRISIS
    child = assess_message("i want to die", sender=10, country="GB")
    assert ids(child.helplines)[0] == "gb-childline"


def test_without_a_country_only_worldwide_services_are_given() -> None:
    result = assess_message(THREAT, recipient="teen")
    assert ids(result.helplines)[0] == "world-take-it-down"
    assert all(line.worldwide for line in result.helplines)


def test_a_bad_country_is_an_input_error() -> None:
    with pytest.raises(InputError, match="country: 'XX' is not an ISO 3166-1 country code"):
        assess_message("hi", country="XX")


def test_the_callers_own_helplines_are_used_when_given() -> None:
    mine = Helpline("NZ", "Platform support", "https://help.example", ("help.example",),
                    kind=Kind.ONLINE, id="nz-platform")
    book = HelplineBook((mine,), "NZ")
    result = assess_message(THREAT, recipient="teen", helplines=book)
    assert ids(result.helplines) == ["nz-platform"]


def test_conversation_helplines_follow_the_country() -> None:
    result = assess_conversation(
        [{"sender": "x", "text": THREAT}], participants={"x": "adult", "y": 14}, country="US")
    listed = [line["id"] for line in result.to_dict()["helplines"]]
    assert listed[:2] == ["us-ncmec-cybertipline", "world-take-it-down"]

