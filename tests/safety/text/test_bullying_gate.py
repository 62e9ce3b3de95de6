"""Swearing and slurs that insult nobody, beside the outside profanity gate (issue 12).

The bullying head is gated by an outside profanity model (docs/safety-log.md, "Outside knowledge:
a profanity model"): its probability at or above tau lifts the head to the level the model
flags alone from, and then a target in the message is all the engine asks for. The outside
model scores words, not who they are aimed at, so left out of training HateCheck's non-hateful
cases went from 11 % to 20 % flagged with the gate: the writer calling themselves names,
swearing they report, praise with a swear word in it, a slur's other meaning or its reclaimed
use, and counter-speech worded in ways the exclusions did not read. The exclusions in
``data/en/bullying.toml`` (``self_insult``, ``reported_swearing``, ``profane_praise``,
``slur_homonym`` and more ``counter_speech`` and ``negated_hate``) blank those words, so they
neither pass the gate nor stand as the target; abuse aimed at someone beside them is read as
before. The sentences are written for these tests, not taken from any corpus.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, assess_message
from kidshield.safety.text.combine import Combiner
from tests.safety.text.helpers import eager_bullying

# each of these was flagged for bullying (medium or high) by the shipped engine before
SELF_INSULT = [
    "I've been a total dickhead to my sister today",
    "my dumbass self left the oven on",
    "that was a real asshole move of me, sorry",
]
REPORTED = [
    "my brother told me to fuck off so i left",
    "i told him to shut the fuck up and he did",
]
PRAISE = [
    "i fucking love gay people",
    "fucking love immigrants honestly, my town is better for them",
]
OTHER_MEANING = [
    "my grandad smoked a fag on the porch",
    "we had faggots and peas for tea",
    "our bitch had six puppies last night",
    "yeah i'm a dyke, deal with it",
]
COUNTER = [
    "saying immigrants are vermin is disgusting",
    "i'd never call gay people shit",
    "it's not ok to call people retards",
    "why would you think it's okay to call me a faggot?",
    'i have no respect for people who post stuff like "gays are disgusting"',
    'he should be in jail for tweeting "kill all muslims"',
    "There is no hatred in my heart for Muslims.",
    # "I'll" is "ill" once normalised: it is no negative word about the group
    "I'll cherish any Muslim friend like you.",
]
# flagged only by a model eager enough to flag a target alone
EAGER_ONLY = [
    "we were complete idiots on that quiz lmao",
    "that guitarist is one talented motherfucker",
]
# aimed abuse beside the same words: flagged before and after
AIMED = [
    "you're a fucking idiot",
    "@x shut up you stupid bitch",
    "i told you to fuck off",
    # "were" is also the normalised "we're": "you were" is still the reader
    "you were a loser in school and you still are",
    "i never called you stupid, you're just a fucking moron",
    "stop acting like a bitch",
    "ur a fag",
    "they were faggots, all of them",
    "im such an idiot and youre a bigger one you fucking loser",
    "fucking hate immigrants",
    "gay people are disgusting",
]


@pytest.fixture(scope="module")
def eager_model() -> Combiner:
    return eager_bullying(0.05)


@pytest.mark.parametrize("text", SELF_INSULT + REPORTED + PRAISE + OTHER_MEANING + COUNTER)
def test_the_gated_engine_leaves_them_alone(text: str) -> None:
    assert assess_message(text).finding(Risk.BULLYING) is None


@pytest.mark.parametrize(
    "text", SELF_INSULT + REPORTED + PRAISE + OTHER_MEANING + COUNTER + EAGER_ONLY
)
def test_an_eager_model_leaves_them_alone_too(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize("text", AIMED)
def test_aimed_abuse_is_still_flagged(text: str, eager_model: Combiner) -> None:
    for engine in (None, eager_model):
        finding = assess_message(text, engine=engine).finding(Risk.BULLYING)
        assert finding is not None, text
