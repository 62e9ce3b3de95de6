"""An insult needs someone to aim at (issue 12: ordinary real chat read as bullying).

The bullying model learnt from news-comment and Reddit toxicity and scores swearing about a
thing, exclamations and self-deprecation like an insult: on chit-chat and GoEmotions comments
most benign messages flagged for bullying were the model alone, without any bullying cue. These
tests hold the rule in ``data/en/bullying.toml`` ``[model]``: the model alone flags only a
message aimed at the reader, a person spoken of or a group; people in general and the writer's
family need its high level; a message about no person never flags from the model alone. The
messages are real forms from those corpora and from the project's bullying data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.safety.text import Message, Risk, RiskLevel, assess_conversation, assess_message
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.lexicon import LexiconError, _compile_risk, load_lexicon
from tests.safety.text.helpers import bullying, eager_bullying


# every one of these was flagged (medium or high) by the model alone before the rule
@pytest.mark.parametrize(
    "text",
    [
        # about a thing or a situation, swearing as an intensifier
        "crap",
        "That seems stupid.",
        "this movie is fucking stupid",
        # the writer calling themselves a person-insult
        "i feel like an idiot",
        "Like an idiot.",
        "stupid excel is horrible on a mac",
        "Numbers however suck!",
        "this is bullshit",
        "toilets",
        "silly",
        "and make it more stupid",
        # exclamations
        "what the fuck",
        "fuck",
        "Yea no shit wtf",
        # the writer about themselves
        "Im completely ignorant",
        # people in general, the writer's family, a quote
        "people are so dumb",
        "my brother is such an idiot",
        "my brother is such an idiot, he locked himself out",
        "my sister is so annoying she took my charger",
        "Like an idiot.",
        "Stupid is what stupid does",
    ],
)
def test_swearing_about_things_and_no_one_is_not_bullying(text: str) -> None:
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        # the reader, also through contractions and mentions
        ("you've got no chin", RiskLevel.LOW),
        ("you'll get battered after school", RiskLevel.LOW),
        ("if ugly was a crime you'd get life", RiskLevel.LOW),
        ("@jake ur trash", RiskLevel.LOW),
        # an insult used as a name, a curse or a command at the reader
        ("Moron", RiskLevel.LOW),
        ("dumb bot", RiskLevel.LOW),
        ("tell me idiot", RiskLevel.LOW),
        ("suck my dick", RiskLevel.LOW),
        ("die", RiskLevel.LOW),
        ("stop being such a wimp", RiskLevel.LOW),
        ("go back to china", RiskLevel.LOW),
        # a classmate spoken of, exclusion and pile-ons behind their back
        ("nobody save her a seat", RiskLevel.LOW),
        ("she's so ugly, why is she even on tiktok", RiskLevel.LOW),
        ("he's a loser, always has been", RiskLevel.LOW),
        ("what an idiot, unfollow", RiskLevel.LOW),
        # a classmate by first name, called a person-insult (no pronoun to find)
        ("jake is such a loser", RiskLevel.LOW),
        ("ms jones is an ugly old hag", RiskLevel.LOW),
        # a public figure: an offence aimed at someone (targeted-offence corpora count it)
        ("the mayor is a pathetic coward and a liar", RiskLevel.LOW),
        # groups: hate is bullying on a children's platform
        ("These black people disgust me so much.", RiskLevel.LOW),
        ("Too many muzzies in this country.", RiskLevel.LOW),
        ("Gay lives are not worth protecting.", RiskLevel.LOW),
        ("stupid gay boy", RiskLevel.LOW),
        # severe cues stay unconditional, whatever the model says
        ("kys", RiskLevel.HIGH),
        ("should have cut deeper 🤷", RiskLevel.HIGH),
        ("rope is cheap 🪢", RiskLevel.HIGH),
        ("you're a worthless slut lol", RiskLevel.LOW),
    ],
)
def test_insults_aimed_at_someone_still_flag(text: str, at_least: RiskLevel) -> None:
    assert bullying(text) >= at_least


@pytest.mark.parametrize(
    "text",
    [
        # "your" stands for "you're" in the insult cues ("your stupid"), but not before "baby"
        "That's so cool :) how old is your baby?",
        "you have a baby? or your dog is your baby?",
        # a question, not exclusion
        "wait so are you not allowed to go out on the ocean even?",
        # negated insults and praise with a swear word in it: the "you" is not insulted
        "You’re not a loser. You’re a whole and complete person unto yourself.",
        "He wasn't being a jerk he was playing. they are friends",
        "Fuck you're cool",
        "damn youre good",
    ],
)
def test_cue_look_alikes_in_ordinary_chat_are_not_bullying(text: str) -> None:
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "youre such a baby",
        "ur a baby",
        "you are not welcome here",
        "your stupid",
        "you are not funny, you're a loser",
        "ur not a loser, ur a fucking idiot",
    ],
)
def test_the_cues_behind_those_look_alikes_still_flag(text: str) -> None:
    assert bullying(text) >= RiskLevel.LOW


def test_a_swear_word_beside_a_real_insult_still_flags() -> None:
    assert bullying("holy shit you're such a loser, nobody likes you") >= RiskLevel.LOW


def test_ordinary_chat_segment_is_not_flagged_for_bullying() -> None:
    # a chit-chat segment (the form `kidshield eval text` scores as a conversation): a segment
    # counts as flagged when any message is, so one swear word used to flag the whole chat
    lines = [
        ("user1", "did you see the finals last night"),
        ("user2", "holy shit yes"),
        ("user1", "that last play was so stupid"),
        ("user2", "crap refereeing too"),
        ("user1", "this is bullshit, numbers however suck!"),
        ("user2", "lol true"),
    ]
    result = assess_conversation([Message(s, t) for s, t in lines])
    assert result.finding(Risk.BULLYING) is None
    assert all(m.finding(Risk.BULLYING) is None for m in result.messages)


def test_a_pile_on_in_a_chat_still_flags() -> None:
    lines = [
        ("user1", "new gc, don't add jess"),
        ("user2", "she's so ugly, why is she even on tiktok"),
        ("user3", "nobody save her a seat"),
    ]
    result = assess_conversation([Message(s, t) for s, t in lines])
    flagged = result.finding(Risk.BULLYING)
    assert flagged is not None and flagged.level >= RiskLevel.LOW


def test_otherwise_requires_needs_requires(tmp_path: Path) -> None:
    path = tmp_path / "bullying.toml"
    path.write_text(
        '[[cue]]\nid = "x"\nweight = 0.5\npatterns = ["you suck"]\n'
        '[model]\notherwise_requires = ["he"]\n',
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match=r"bullying\.toml: \[model\]: otherwise_requires needs"):
        _compile_risk(Risk.BULLYING, path, {})


@pytest.fixture(scope="module")
def eager_model() -> Combiner:
    """The shipped model with the bullying head's thresholds where a fold trained without
    chit-chat put "you?" (about 0.2): such a model flagged 62 of 346 chit-chat messages it
    flagged for bullying on a bare "you?"."""
    return eager_bullying(0.2)


@pytest.mark.parametrize("text", ["You?", "you", "Yes. You?", "and you??", "You*"])
def test_a_bare_you_says_nothing(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize("text", ["you suck", "Moron", "you're so weird"])
def test_the_eager_model_still_flags_insults(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


@pytest.mark.parametrize("text", ["You're a hero.", "You are an absolute gem", "You ain't wrong"])
def test_praise_and_agreement_are_not_insults(text: str, eager_model: Combiner) -> None:
    # a model trained without GoEmotions flagged these comments
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize(
    ("text", "affirmation"),
    [
        ("You’re not a loser. You’re a whole and complete person unto yourself.",
         "youre a whole and complete person"),
        ("you are a good and kind human being", "you are a good and kind human being"),
        ("ur such a genuine, thoughtful friend", "ur such a genuine, thoughtful friend"),
    ],
)
def test_affirming_the_reader_as_a_person_is_blanked_before_the_model_reads_again(
    text: str, affirmation: str
) -> None:
    # a model trained with Civil Comments weighed 0.3 put the first at its medium level
    lexicon = load_lexicon()
    norm = lexicon.normalizer.normalize(text).text
    exclude = lexicon.for_risk(Risk.BULLYING).exclude
    assert exclude is not None
    assert affirmation in [norm[m.start() : m.end()] for m in exclude.finditer(norm)]
    assert bullying(text) is RiskLevel.NONE


@pytest.mark.parametrize("text", ["you're a whole clown", "ur a whole clown fr"])
def test_a_slang_whole_before_an_insult_still_flags(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


# GoEmotions comments left out of training (DEV half): the model alone flagged them at its
# medium level because a possessive ("his", "their") counted as someone aimed at
@pytest.mark.parametrize(
    "text",
    [
        "Poisoned by his enemies.",
        "This poor soul is pointing a gun to his head and smiling.",
        "Found his burner",
        "Let their deaths be swift",
    ],
)
def test_a_possessive_alone_aims_at_no_one(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize(
    "text",
    ["his face is ugly", "omg his teeth are disgusting", "he is so ugly", "their mom is a whore"],
)
def test_their_looks_and_family_are_them(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


@pytest.mark.parametrize(
    "text",
    [
        "You got this! Go easy on yourself man..",
        "Keep your head up",
        "Three words for you. Stand your ground.",
        "Don't feel bad! You deserve better",
        "You sir are a true hero.",
        "You are absolutely stunning",
        "You’re a stud 🙌🏻",
        "you can get through this",
    ],
)
def test_encouragement_is_not_an_insult(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is None


@pytest.mark.parametrize(
    "text",
    [
        "you got this wrong, idiot",
        "keep your head up your ass",
        "you deserve to be bullied",
        "you're a stud at being annoying",
    ],
)
def test_insults_beside_encouragement_words_still_flag(text: str, eager_model: Combiner) -> None:
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


@pytest.mark.parametrize(
    "text", ["I will cut their trans throats.", "I will cut their Muslimthroats."]
)
def test_a_threat_at_their_body_still_flags(text: str, eager_model: Combiner) -> None:
    # HateCheck threats a fold without HateCheck lost when "their" first stopped counting
    assert assess_message(text, engine=eager_model).finding(Risk.BULLYING) is not None


@pytest.mark.parametrize("text", ["you deserve to die", "u deserve to die",
                                  "honestly you deserved to die", "you deserve to rot in hell"])
def test_death_wished_on_the_reader_is_bullying_not_the_writer_at_risk(text: str) -> None:
    # the shipped engine read "you deserve to die" as the writer's own self-harm (medium, from
    # the model alone) and not as bullying at all
    risks = {f.risk: f.level for f in assess_message(text).findings}
    assert risks.get(Risk.BULLYING, RiskLevel.NONE) >= RiskLevel.HIGH
    assert Risk.SELF_HARM not in risks


@pytest.mark.parametrize("text", ["you deserve to die. i want to die too", "i deserve to die",
                                  "you dont deserve this, i just want to die"])
def test_the_writers_own_ideation_beside_it_still_flags_self_harm(text: str) -> None:
    risks = {f.risk: f.level for f in assess_message(text).findings}
    assert risks.get(Risk.SELF_HARM, RiskLevel.NONE) >= RiskLevel.MEDIUM
