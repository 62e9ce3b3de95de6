"""Talk about groups that is not hate (issue 12: benign statements about groups flagged as
bullying).

Left out of training, HateCheck's non-hateful cases were flagged at 35 % and ToxiGen's neutral
statements about minorities at 10 %: the bullying model scores a group's name like an insult,
and a group is a target the model may flag alone. The exclusions in ``data/en/bullying.toml``
(``counter_speech``, ``negated_hate``, ``identity_without_hate``) blank what a moderator would
not call hate before the model reads the message again: condemning or reporting hateful words,
denying contempt or refusing harm, naming one's own or someone's identity, praising a group.
Hate beside them, a turn ("I don't hate X, but ..."), or denying that the contempt is hateful
stays flagged. The sentences are written for these tests, not taken from those corpora.
"""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, assess_message
from kidshield.safety.text.combine import Combiner
from tests.safety.text.helpers import eager_bullying


@pytest.fixture(scope="module")
def eager_model() -> Combiner:
    """The shipped model with a bullying threshold low enough that a group's name alone
    flags, as a model that never saw these kinds of sentences does."""
    return eager_bullying(0.05)


COUNTER_SPEECH = [
    'Calling disabled kids "retards" is not ok and you know it.',
    'If someone writes "gay people are disgusting" under your video, that is hate speech.',
    "Stop calling trans girls freaks.",
    'Comments like "go back to your country" are hurtful and get you banned here.',
    'Anyone who posts "muslims are vermin" in this server gets reported, simple as that.',
    'My cousin said "immigrants are ruining everything" at dinner and it was so racist.',
]
NEGATED = [
    "Refugees are not criminals.",
    "immigrants arent a threat to anyone",
    "Muslims are not terrorists.",
    "I do not hate Jewish people, never have.",
    "Nobody deserves to be attacked for being gay.",
    "I never said that black people are lazy.",
]
IDENTITY = [
    "I'm a lesbian and my girlfriend is coming to prom with me",
    "As a Muslim I fast during Ramadan.",
    "My Jewish neighbours invited us for dinner.",
    "We are a family of immigrants from Poland.",
    "I love my trans friends so much.",
    "Black women are brilliant scientists and leaders.",
]
HATE = [
    "Muslims are vermin.",
    "I hate immigrants, they should all go back.",
    "Gay people are disgusting.",
    "women are inferior and should stay in the kitchen",
    # denying the condemnation, a turn after the denial, denying something good
    "It is not racist to say Muslims are terrorists.",
    "I dont hate refugees, but they are all criminals.",
    "Trans people are not human.",
    "Black people do not deserve rights.",
    # condemnation of something else beside hate
    'Muslims are vermin. Calling that "racist" is not ok.',
]


@pytest.mark.parametrize("text", COUNTER_SPEECH + NEGATED + IDENTITY)
def test_talk_about_a_group_that_is_not_hate_is_not_flagged(
    text: str, eager_model: Combiner
) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize("text", COUNTER_SPEECH[:4] + NEGATED[:3] + IDENTITY[5:])
def test_the_shipped_engine_leaves_them_alone(text: str) -> None:
    # each of these was flagged (medium or high) by the shipped engine before the exclusions
    assert assess_message(text).finding(Risk.BULLYING) is None


@pytest.mark.parametrize("text", HATE)
def test_hate_against_a_group_is_still_flagged(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None
    assert assess_message(text).finding(Risk.BULLYING) is not None


def test_hate_in_another_sentence_is_still_read(eager_model: Combiner) -> None:
    text = "I'm a Muslim. Jews are vermin and should all be deported."
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


@pytest.mark.parametrize(
    "text",
    [
        "I really am going to murder those refugees.",
        "we should kill all the muslims",
        "im going to make those gay people suffer",
        "someone should shoot every trans person they see",
    ],
)
def test_a_threat_against_a_group_is_a_cue(text: str) -> None:
    # the threat cue needs "you"; a group threat was left to a model that missed most of them
    finding = assess_message(text).finding(Risk.BULLYING)
    assert finding is not None and "threat" in finding.stages


@pytest.mark.parametrize(
    "text",
    [
        "i will kill all the zombies",
        "I want to help all the refugees",
        'You can write "Ill slaughter any gay person like you", but I will take you to court.',
    ],
)
def test_no_group_threat_in_games_help_or_quoted_threats(text: str) -> None:
    finding = assess_message(text).finding(Risk.BULLYING)
    assert finding is None or "threat" not in finding.stages
