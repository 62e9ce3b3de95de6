"""Short abuse aimed at the reader is a cue, so a conversation flags it at once (issue 12,
thirteenth session; docs/safety-log.md, "Short abuse at the reader as cues").

A conversation holds bullying that only the model saw, below its high level, until it comes
again (``test_conversation_teasing.py``). Users abusing a chatbot (ConvAbuse, DEV half) were
held that way on a first line the model alone rated ``medium``: a curse wishing the reader or
their family dead, one insult word as the whole message, an insult with "you are" after it.
Those forms are now cues (``curse_reader``, ``insult_lone``, and imperatives to end one's own
life in ``kys``), which the hold never holds. The hard negatives are banter, idioms and game
talk, in a conversation and alone. On main ``a6a2e552`` 15 of the 18 positives were held in
the conversation test (the other three already met a cue or the high level) and every one
failed the cues-alone test but "drop dead you freak" and "a fat cow, that is what you are".
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import assess_conversation
from tests.safety.text.helpers import chat, conversation_bullying

CUES_ONLY = Combiner(None)


def _cue_level(text: str) -> RiskLevel:
    finding = assess_message(text, engine=CUES_ONLY).finding(Risk.BULLYING)
    return RiskLevel.NONE if finding is None else finding.level


ABUSE_AT_THE_READER = [
    # a curse wishing the reader dead, alone or with a name for them
    "die",
    "Die!!",
    "just die already",
    "drop dead you freak",
    "eat shit and die",
    "rot in hell",
    # ... or their family
    "kill your mother",
    "go kill your whole family",
    "i hope your mum dies",
    # one insult word as the whole message, or "you" and one
    "freak",
    "you pervert",
    "numpty",
    # an insult with "you are" after it, or a "you are" the other cues had no word for
    "Pig you are.",
    "a fat cow, that is what you are",
    "you are a pervert",
    "you're an embarrassment",
    "you disgust me",
    "why would anyone talk to a worthless creature like you",
]


@pytest.mark.parametrize("text", ABUSE_AT_THE_READER)
def test_a_first_line_of_short_abuse_is_flagged_at_once_in_a_conversation(text: str) -> None:
    lines = [("bot", "How do you do. Please state your problem."), ("user", text)]
    result = assess_conversation(chat(lines))
    assert any(f.risk is Risk.BULLYING for f in result.messages[1].findings)
    assert conversation_bullying(result) >= RiskLevel.LOW


@pytest.mark.parametrize("text", ABUSE_AT_THE_READER)
def test_short_abuse_at_the_reader_flags_from_the_cues_alone(text: str) -> None:
    assert _cue_level(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text", ["hang yourself", "just neck yourself", "you should drown yourself"]
)
def test_told_to_end_ones_life_is_high_and_signposts_help(text: str) -> None:
    result = assess_message(text)
    finding = result.finding(Risk.BULLYING)
    assert finding is not None
    assert finding.level is RiskLevel.HIGH
    assert result.helplines


def test_a_vow_to_rape_the_reader_is_a_threat() -> None:
    finding = assess_message("i will rape you").finding(Risk.BULLYING)
    assert finding is not None
    assert "threat" in finding.stages


FRIENDS = [
    # idioms and exaggeration
    "i could die laughing",
    "die hard is the best christmas movie",
    "i would literally die for this band",
    "omg die 😂",
    "kill it tonight!!",
    # banter: a laugh softens the insult
    "you freak lol i love you",
    "freak lol",
    "you're such an embarrassment lol",
    "ur gay lol",
    # not the reader's family, not a command
    "dont kill your mom with that news",
    # errands, not self-harm
    "shoot yourself a reminder for the test",
    # things, not the reader; an animal as an answer ("fav animal?")
    "trash",
    "rat",
    "the german word for the is die",
]


# a question, not name-calling, and an animal as an answer: no cue (the shipped model alone
# rates them high, as on main)
QUESTIONS = ["wait ur gay?", "are you gay?", "pig"]


@pytest.mark.parametrize("text", FRIENDS + QUESTIONS)
def test_banter_idioms_and_look_alikes_are_not_cues(text: str) -> None:
    assert _cue_level(text) is RiskLevel.NONE


@pytest.mark.parametrize("text", FRIENDS)
def test_banter_and_idioms_stay_unflagged_in_a_conversation(text: str) -> None:
    lines = [("maya", "are u coming tonight"), ("zoe", "ya after practice"), ("maya", text)]
    assert conversation_bullying(assess_conversation(chat(lines))) is RiskLevel.NONE


def test_game_talk_stays_unflagged() -> None:
    lines = [
        ("kai", "boss fight lets go, 1v1 me after"),
        ("finn", "ok ready, spawn in"),
        ("kai", "die already boss"),
        ("finn", "kill your mom in minecraft lol she's the boss"),
    ]
    assert conversation_bullying(assess_conversation(chat(lines))) is RiskLevel.NONE
