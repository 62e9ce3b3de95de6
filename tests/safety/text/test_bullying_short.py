"""Short abuse aimed at the reader, as chat users type it (issue 12, ConvAbuse DEV half).

Left out of training, users abusing a chatbot (ConvAbuse) were found at recall 0.38: the cues
knew "you're a loser" and "fuck you" but not "you bastard", "you are very annoying", "are you
stupid?", "go to hell" or "fuck your family", and a model that never saw the source ranked
such short texts low. These cues (``insult_direct``, ``insult_weak`` in ``data/en/bullying.toml``)
flag from the cues alone, so they are tested without any model (``Combiner(None)``): what they
find does not depend on the weights shipped. Their hard negatives are the verbs that look like
the nouns ("you bitch about", "piss off his neighbour"), banter, praise, quoting and the writer
about themselves.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.combine import Combiner
from tests.safety.text.helpers import bullying

CUES_ONLY = Combiner(None)


def cue_level(text: str) -> RiskLevel:
    finding = assess_message(text, engine=CUES_ONLY).finding(Risk.BULLYING)
    return RiskLevel.NONE if finding is None else finding.level


def cue_ids(text: str) -> set[str]:
    return {h.cue for h in assess_message(text, engine=CUES_ONLY).hits if h.risk is Risk.BULLYING}


@pytest.mark.parametrize(
    "text",
    [
        # an insult noun that addresses the reader
        "you bastard",
        "no you stupid motherfucker",
        "you gimp",
        "u motherfucking whore",
        "screw you bitch",
        "you prick",
        # "you are" + an insult behind an intensifier the older cue lacked
        "You are very annoying",
        "you are a fucking bastard",
        "you're a jerk",
        "ur a jerk",
        "U r pretty shitty",
        "you are shit",
        # insulting questions
        "are you stupid?",
        "Are you an idiot",
        # curses and brush-offs
        "go to hell",
        "Go to hell!!!",
        "die in a fire",
        "piss off",
        "You invaded my space. Get the fuck out!",
        "fuck your full family",
        "shut the fuck up",
        "i hate you",
        "I hate you, die now please",
        # one insult noun as the whole message names the reader
        "cunt",
        "mother fucker",
        # condescension with an insult in it (Reddit retorts)
        "you are a hypocrite",
        "you're a condescending prick",
        "grow up you little snowflake",
        "I'm done arguing with someone as ignorant as you.",
    ],
)
def test_short_abuse_at_the_reader_flags_from_the_cues_alone(text: str) -> None:
    assert cue_level(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        # the verb, not the noun
        "you bitch about everything but never help",
        "he wanted to piss off his neighbor",
        "if you bitch and moan they ignore you",
        # praise and slang praise
        "you're the shit",
        "you're pretty cool",
        # the possessive, not "you are"
        "your shit is still in my car",
        # banter between friends: a laugh softens a mild insult below the report threshold
        "you bastard lol you spoiled the ending",
        "are you stupid 😂 it was right there",
        # the writer about themselves and a negated insult
        "im such an idiot i forgot my keys",
        "you're not a jerk, you were just tired",
        # talk about the words, not at someone
        "my teacher said go to hell is a rude thing to write",
        # surprise and advice, not a brush-off
        "get the fuck out of bed, we're late",
        "gtfo there's a new cafe with a cat in it??",
        # one insult noun inside a longer message about someone else is not the whole message
        "the villain in that film is such a bastard",
        "you're not ignorant, you just never had the chance to learn",
        "i hate you too",
        "thanks, now i hate you, that song is stuck in my head",
        "notice the thought and make your brain shut the fuck up",
        # reported speech: someone else said it (HateCheck's non-hateful cases)
        "The theatre usher just told me to shut the fuck up.",
        "I told her to get the fuck out of my car right now.",
    ],
)
def test_look_alikes_do_not_flag_from_the_cues(text: str) -> None:
    assert cue_level(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "i hate you for spoiling it",
        "you suck",
        "Lol you can't read.",
        "cry more",
        "ok kiddo",
        "you sound really triggered",
        "Sore loser attitude? Are you 12?",
    ],
)
def test_weak_forms_never_flag_alone_but_are_evidence(text: str) -> None:
    # under the report threshold: the model beside them needs only its low level
    assert "insult_weak" in cue_ids(text)
    assert cue_level(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "thanks, now i hate you lol, that song is stuck in my head",
        "i hate you too 😂",
    ],
)
def test_weak_forms_in_banter_are_not_bullying(text: str) -> None:
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "you suck it up and keep going",
        "if you suck at maths ask for help",
        "i hate you too",
        "everyone should learn how to read music",
        "lost 8 ranked games in a row i think i need to touch grass",
    ],
)
def test_weak_look_alikes_are_no_evidence(text: str) -> None:
    assert "insult_weak" not in cue_ids(text)


def test_the_shipped_engine_flags_short_abuse() -> None:
    for text in ("you bastard", "You are very annoying", "go to hell", "are you stupid?"):
        assert bullying(text) >= RiskLevel.LOW, text
