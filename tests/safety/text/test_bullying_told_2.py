"""Bullying of someone else told in other words, and tellings that are not a child's now
(issue 12, sixteenth session). A parent or friend telling that their child or friend is
excluded, told to die, sent cruel messages, told they are ugly or that they smell, shouted
slurs at, dropped by their friends, or has hate written on their things gets a bullying
signpost of kind ``other`` (help for the writer, no finding against them). A telling set in
a time long over ("in my school years", "as a kid", "back then"), a choice judged ("everybody
says im stupid to quit my job") and an adult's workplace rumour ("they told people i was a bad
teacher") get none; the same tellings now keep theirs. A child's things taken or thrown, or
"kys" said at them, as a habit, is a telling of their own (kind ``target``). Through the
message engine and the served REST endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kidshield.safety.text import RecommendedAction, Risk, assess_message
from tests.e2e.fixtures import assess_client

# each gets no signpost on main 166cb3b7
TOLD_OTHER = [
    "they've been picking on my daughter since september",
    "my daughter says kids at her school are excluding her",
    "my son got a text saying kill yourself from a kid in his class",
    "my daughter keeps getting nasty messages on snapchat",
    "someone left a comment saying ur so ugly on my sister's photo",
    "a boy in her class keeps telling my daughter she's fat",
    "my son came home upset because a kid on the bus said he smells",
    "the older boys keep shouting slurs at my brother",
    "my friend jess got called a slag at the party",
    "my daughter is 9 and keeps getting called ugly at school",
    "my son's classmates have stopped talking to him",
    "someone wrote a slur on my friend's locker",
    "my brother was told to go kill himself in a game chat",
    "they made a group chat without my sister and laugh at her in it",
]

NOT_TOLD = [
    "my son got a nasty cold at school",
    "my friend got a message saying happy birthday",
    "i told my sister she's ugly lol",
    "my friend cries because she says she's fat",  # her own words about herself
    "me and my friends keep shouting names at my brother",  # the writer's side
    "what if my daughter gets nasty messages",
    "my son got a text saying kill yourself lol",  # a laugh
    "she took my phone",  # once: a sibling, a parent, a theft
    "my brother hid my shoes for a prank",
]

LONG_AGO = [
    "I was bullied a lot in my school years. I'm 28 now and still anxious",
    "i was bullied as a kid and it made me who i am",
    "I was a fob back then so of course the other kids made fun of me a lot",
    "growing up everyone made fun of me for my accent",
    "everybody says I'm stupid to quit my cosy desk job to travel",
    "they told people I was a bad teacher and should have been fired",
]

NOW = [
    ("im being bullied at school and its been like this since i was little", "target"),
    ("everyone in my class says im stupid", "target"),
    ("they told everyone i was a slut", "target"),
    ("i got bullied today", "target"),
    # the writer's things taken or thrown, or "kys" said at them, as a habit (fail on main)
    ("the boys in my class keep hiding my bag and laughing", "target"),
    ("they always throw my lunch in the bin", "target"),
    ('the girls on my bus keep saying "kys" every morning', "target"),
]


def _bullying_signposts(text: str, sender: str = "teen") -> list[str]:
    result = assess_message(text, sender=sender)
    return [s.why for s in result.signposts if s.risk is Risk.BULLYING]


@pytest.mark.parametrize("text", TOLD_OTHER)
def test_someone_elses_bullying_told_in_other_words_gets_help(text: str) -> None:
    result = assess_message(text, sender="adult")
    assert [s.why for s in result.signposts if s.risk is Risk.BULLYING] == ["other"]
    assert RecommendedAction.SHOW_HELPLINE in result.actions
    assert result.helplines
    assert result.finding(Risk.BULLYING) is None


@pytest.mark.parametrize("text", NOT_TOLD)
def test_no_help_where_nobody_else_is_bullied(text: str) -> None:
    assert _bullying_signposts(text) == []


@pytest.mark.parametrize("text", LONG_AGO)
def test_no_signpost_on_a_telling_long_over_a_choice_judged_or_a_workplace(text: str) -> None:
    assert _bullying_signposts(text, sender="adult") == []


@pytest.mark.parametrize(("text", "why"), NOW)
def test_the_same_tellings_now_keep_their_signpost(text: str, why: str) -> None:
    assert _bullying_signposts(text) == [why]


def test_kys_said_at_the_writer_is_told_not_the_writers_own() -> None:
    # the severe cue lies in the telling and nothing else in the message is bullying: the
    # finding against the writer is withheld, the help stays
    result = assess_message('the boys on my bus used to say "kys" every morning when i got on',
                            sender="teen")
    assert result.finding(Risk.BULLYING) is None
    assert [s.why for s in result.signposts] == ["target"]
    assert result.helplines
    own = assess_message('the boys on my bus used to say "kys" every morning. kys loser',
                         sender="teen")
    assert own.finding(Risk.BULLYING) is not None


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with assess_client(tmp_path_factory.mktemp("told-2")) as client:
        yield client


def test_the_served_endpoint_shows_help_for_a_parents_telling(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/message",
        json={"text": "a boy in her class keeps telling my daughter she's fat", "sender": 40},
    ).json()
    assert body["findings"] == []
    assert "show_helpline" in body["actions"]
    assert body["helplines"]
    assert [(s["risk"], s["why"]) for s in body["signposts"]] == [("bullying", "other")]


def test_the_served_endpoint_gives_no_signpost_to_a_memory(client: httpx.Client) -> None:
    body = client.post(
        "/api/v1/assess/message",
        json={"text": "I was bullied a lot in my school years. I'm 28 now", "sender": 28},
    ).json()
    assert not [s for s in body["signposts"] if s["risk"] == "bullying"]
    now = client.post(
        "/api/v1/assess/message", json={"text": "i got bullied today", "sender": 14}
    ).json()
    assert [(s["risk"], s["why"]) for s in now["signposts"]] == [("bullying", "target")]
