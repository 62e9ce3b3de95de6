"""A writer telling they are bullied (issue 12, the lead's call): no bullying finding against
them, but the reply shows bullying helplines and says why (a ``bullying`` signpost, ``why``
``target`` or ``threat``), through the message engine, the conversation tracker, ``kidshield
scan`` and the served REST endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from kidshield.safety.text import (
    ConversationTracker,
    RecommendedAction,
    Risk,
    assess_conversation,
    assess_message,
)
from kidshield.safety.text.scan import Scanner
from tests.e2e.fixtures import assess_client
from tests.safety.text.helpers import chat

TOLD = [
    ('they called me "tubby" every day', "target"),
    ("everyone in my class says im ugly and laughs at me", "target"),
    ("i'm being bullied at school", "target"),
    ("they keep posting stuff about me", "target"),
    ("he said he'd beat me up after school", "threat"),
    ("some girls made a fake account pretending to be me", "target"),
    ("nobody will sit with me at lunch anymore", "target"),
    ("i keep getting called names on the bus", "target"),
]


@pytest.mark.parametrize(("text", "why"), TOLD)
def test_a_writer_telling_they_are_bullied_is_shown_help_and_why(text: str, why: str) -> None:
    result = assess_message(text, sender="teen")
    assert result.finding(Risk.BULLYING) is None  # the writer bullies no one
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines
    [signpost] = [s for s in result.signposts if s.risk is Risk.BULLYING]
    assert signpost.why == why
    assert signpost.reason.value == "bullying"
    assert signpost.spans and all(0 <= s.start < s.end <= len(text) for s in signpost.spans)
    body = result.to_dict()
    assert body["signposts"][0]["why"] == why
    assert text not in json.dumps(body)  # offsets, never the words


@pytest.mark.parametrize(
    "text",
    [
        "we called him tubby lol",  # the writer is the one who bullies
        "my friends call me fatso lol",  # banter
        "i bullied my brother at chess",
        "he said he'd beat me at chess",
        "he said he'd kill me in fortnite if i took his loot",  # game talk
        "im not being bullied, dont worry",
        "the article says more kids are being bullied online",  # news, about others
        'in the book the new kid says "they call me fatso every day"',  # someone's quoted words
        "if you're being harassed at school, tell a trusted adult",
        "they would laugh at me if i sang",
        "call me stupid but i love pineapple pizza",
        "my grandma calls me sweetie",
        "in my story the main character keeps getting called fat at school",  # fiction
        "the news said a boy was being called names online for months",
    ],
)
def test_no_bullying_help_where_the_writer_is_not_the_target(text: str) -> None:
    result = assess_message(text)
    assert not [s for s in result.signposts if s.risk is Risk.BULLYING]


def test_help_is_shown_beside_a_bullying_finding_the_model_already_gives() -> None:
    # findings are left as they were; the writer still gets the help
    result = assess_message('being called "fatso" every day is why i hate school')
    assert [s.why for s in result.signposts] == ["target"]
    assert RecommendedAction.SHOW_HELPLINE in result.actions and result.helplines


def test_the_help_is_chosen_for_the_writer_not_the_reader() -> None:
    # a child telling an adult: the child's helplines, as when telling another child
    to_adult = assess_message("i'm being bullied at school", sender="child",
                              recipient="adult", country="GB")
    to_child = assess_message("i'm being bullied at school", sender="child",
                              recipient="child", country="GB")
    to_child_by_adult = assess_message("i'm being bullied at school", sender="adult",
                                       recipient="child", country="GB")
    assert to_adult.helplines == to_child.helplines
    assert to_adult.helplines != to_child_by_adult.helplines


def test_someone_elses_crisis_says_why_it_shows_helplines() -> None:
    result = assess_message("my best friend says he wants to end his life, what do i do")
    assert [(s.risk, s.why) for s in result.signposts] == [(Risk.SELF_HARM, "other")]


def test_the_tracker_and_the_conversation_result_carry_the_signpost() -> None:
    tracker = ConversationTracker(participants={"kid": 12, "mum": "adult"}, country="GB")
    messages = chat([("kid", "hi mum"), ("kid", "they called me tubby again today")])
    assert not tracker.add(messages[0]).signposts
    told = tracker.add(messages[1])
    assert [s.why for s in told.signposts] == ["target"]
    assert told.helplines and told.finding(Risk.BULLYING) is None
    result = assess_conversation(messages, participants={"kid": 12, "mum": "adult"})
    body = result.to_dict()
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert body["helplines"]
    assert [(s["message"], s["risk"], s["why"]) for s in body["signposts"]] == [
        (1, "bullying", "target")
    ]
    assert not [f for f in result.findings if f.risk is Risk.BULLYING]


def test_scan_prints_the_signpost() -> None:
    line = Scanner().line(json.dumps({"text": "i'm being bullied at school"}), 1)
    assert line["signposts"][0]["risk"] == "bullying"
    assert "show_helpline" in line["actions"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("disclosure")) as client:
        yield client


def test_the_served_message_endpoint_shows_help_and_why(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/message",
        json={"text": "everyone in my class says im ugly and laughs at me", "sender": 13},
    ).json()
    assert body["findings"] == []
    assert "show_helpline" in body["actions"]
    assert body["helplines"]
    assert [(s["risk"], s["reason"], s["why"]) for s in body["signposts"]] == [
        ("bullying", "bullying", "target")
    ]


def test_the_served_conversation_endpoint_shows_help_and_why(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"kid": 12, "mum": "adult"},
            "messages": [
                {"sender": "kid", "text": "mum can we talk", "at": 1772388000},
                {"sender": "kid", "text": "he said he'd beat me up tomorrow",
                 "at": 1772388060},
            ],
        },
    ).json()
    assert body["helplines"]
    assert "show_helpline" in body["actions"]
    assert [(s["message"], s["why"]) for s in body["signposts"]] == [(1, "threat")]
    assert body["messages"][1]["signposts"][0]["why"] == "threat"


def test_the_split_about_patterns_find_what_the_whole_pattern_finds() -> None:
    from kidshield.safety.text.lexicon import load_lexicon
    from tests.safety.text.corpus_util import load as load_corpus

    lexicon = load_lexicon()
    for risk in (Risk.BULLYING, Risk.SELF_HARM):
        lex = lexicon.for_risk(risk)
        assert lex.about_gated is not None, risk
        for text in [*load_corpus("benign"), *load_corpus("bullying"), *load_corpus("self_harm"),
                     *(text for text, _why in TOLD)]:
            view = lexicon.normalizer.normalize(text).text
            whole = [(kind, m.start(), m.end()) for kind, regex in lex.about.items()
                     for m in regex.finditer(view)]
            assert sorted(lex.about_spans(view)) == sorted(whole), text
