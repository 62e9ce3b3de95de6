"""Insults in the plainer wording of comment threads (issue 12, bullying recall where lowest).

Left out of training, Civil Comments' toxic comments were found at recall 0.34 by the whole
engine (DEV half). Sorted by kind, most misses were insults of the reader or of a person named
in words the cues did not know and the profanity gate does not lift ("you are clearly an
idiot", "your posts are idiotic", "how ignorant you are"), and insults the model scored high
enough but that named their target in a way the aim rule did not read as a person ("obama is a
typical american idiot", "what a vain buffoon", "the idiot in chief", "these republican
traitors"). See docs/safety-log.md, "Insults in comment threads".

The cue (``insult_plain``) is tested without any model (``Combiner(None)``); the aim rule with
a model that flags from a very low threshold, so that only ``[model] requires`` decides.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.combine import Combiner
from tests.safety.text.helpers import eager_bullying

CUES_ONLY = Combiner(None)


def cue_level(text: str) -> RiskLevel:
    finding = assess_message(text, engine=CUES_ONLY).finding(Risk.BULLYING)
    return RiskLevel.NONE if finding is None else finding.level


@pytest.fixture(scope="module")
def any_score() -> Combiner:
    """A model that scores every message above its thresholds: the aim rule alone decides."""
    return eager_bullying(0.001)


def flagged(text: str, engine: Combiner) -> bool:
    return assess_message(text, engine=engine).finding(Risk.BULLYING) is not None


# -- insults of the reader, in words the cues did not know --------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        # "you are" behind an adverb, or the other word order
        "You are clearly an idiot.",
        "you really are a hypocrite",
        "you are obviously clueless about this",
        "You're a fool if you believe that.",
        "you are the latest example of an idiot",
        # an exclamation about the reader
        "It's funny how ignorant you are.",
        "how dumb can you get",
        # the reader's words called names
        "your stupid comment says it all",
        "Your posts are extremely dumb",
        "your argument is so idiotic",
        # the reader named in the plural
        "you libbies are getting dumber by the day",
        "you idiots never learn",
        # replies that belittle the reader (DiaSafety DEV half)
        "god you sound insufferable",
        "your lack of intelligence really shows",
    ],
)
def test_plain_insults_of_the_reader_flag_from_the_cues(text: str) -> None:
    assert cue_level(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        # wonder and praise, as teens say it
        "you are insane! how did you learn to speak so many languages",
        "you're crazy lol",
        "you are clearly a genius",
        # the writer about themselves, and negation
        "i'm such an idiot, i forgot my bag",
        "you're not an idiot, you just made a mistake",
        # a thing, not the reader's words
        "this idea is stupid",
        "how stupid is this rule",
        # banter between friends
        "ur so dumb i love u",
        "your idea is stupid lol",
    ],
)
def test_look_alikes_do_not_flag_from_the_cues(text: str) -> None:
    assert cue_level(text) is RiskLevel.NONE


# -- a person or people called an insult noun that only names a person ------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Trump is a kook too.",
        "jake is such an idiot",
        "obama is a typical american idiot",
        "what a vain, smug buffoon",
        "these idiots voted for him",
        "a bunch of brainless morons",
    ],
)
def test_a_person_called_an_insult_noun_flags_from_the_cues(text: str) -> None:
    assert cue_level(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        "i was a complete idiot back then",
        "I felt like such an idiot",
        "he is not an idiot",
        "my brother is such an idiot",
        "that was an idiot move",
        "what a moron lol",
        "we were a bunch of idiots back then haha",
    ],
)
def test_oneself_negation_family_things_and_laughter_do_not_flag(text: str) -> None:
    assert cue_level(text) is RiskLevel.NONE


# -- the model alone: insults that name a person or people --------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "obama is a typical american idiot",
        "cory gardner is an evil little coward",
        "what a vain and self-absorbed buffoon",
        "the idiot in chief lied again",
        "hopeless, these republican traitors",
        "the liberals they sent are a bunch of lame brained idiots",
        "Hypocrites!",
        "those stupid alaskans voted for it",
    ],
)
def test_insults_naming_a_person_give_the_model_a_target(text: str, any_score: Combiner) -> None:
    assert flagged(text, any_score)


@pytest.mark.parametrize(
    "text",
    [
        # no person at all: a thing, an idea, a place
        "what a stupid idea",
        "this movie is a piece of garbage",
        "the level of stupidity here is staggering",
        "utter garbage",
        # the writer about themselves
        "i was a complete idiot back then",
        "I'm such a fool",
    ],
)
def test_insults_of_things_and_of_oneself_still_aim_at_no_one(
    text: str, any_score: Combiner
) -> None:
    assert not flagged(text, any_score)
