"""Self-harm on long real posts (issue 12: recall on suicidal Reddit posts, precision against
other Reddit posts). Three things the leave-one-source-out run on the RMHD sample showed:

* passive ideation in the words people use ("don't want to wake up anymore", "can't go on any
  longer", "wish I was dead") was not read as ideation, so the model alone needed its high
  level;
* with ideation in the message, the model alone needed its medium level: now its low level,
  the threshold chosen on the validation split (``[model] with_requires`` in self_harm.toml);
* a gun forum's posts ("went to the gun show", "I got the gun running") and relapses into
  drink or drugs were read as means and self-harm acts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.safety.text import Risk, RiskLevel
from kidshield.safety.text.lexicon import LexiconError, _compile_risk
from tests.safety.text.helpers import self_harm


@pytest.mark.parametrize(
    "text",
    [
        "i just feel so alone and empty. i dont want to have to wake up anymore",
        "Life is pain. I don't think i can go on any longer, there is just too much of it",
        "some nights i wish i was dead. nobody would even notice",
        "im so tired of living like this, nothing left to live for",
    ],
)
def test_passive_ideation_in_a_post_is_self_harm(text: str) -> None:
    assert self_harm(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        "Recently went to the gun show and realized after I bought 3 boxes of cartridges that "
        "they were the wrong calibre. Can a Glock 43 fire them?",
        "Spent months trying to fix it, finally I got the gun running again, here is how the "
        "action works",
        "Relapsed after 3.5 years sober. One glass of wine turned into a bottle.",
        "I relapsed again last night, not on pot but on the edibles. Day one again tomorrow.",
        "10 days in, almost relapsed. Glass of wine was poured, I poured it away.",
    ],
)
def test_guns_and_relapses_into_drink_are_not_self_harm(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "next step is to get the rope",
        "im gonna get a gun and end it tonight",
        "i relapsed and started cutting again last night",
        "3 months sh free and i relapsed, the blade was just there",
    ],
)
def test_plans_means_and_self_harm_relapses_still_flag(text: str) -> None:
    assert self_harm(text) >= RiskLevel.MEDIUM


def test_with_requires_is_checked(tmp_path: Path) -> None:
    cue = '[[cue]]\nid = "x"\nweight = 0.5\npatterns = ["i want to die"]\n'
    bad = tmp_path / "self_harm.toml"
    bad.write_text(cue + '[model]\nrequires = ["die"]\nwith_requires = "lowest"\n',
                   encoding="utf-8")
    with pytest.raises(LexiconError,
                       match=r"self_harm\.toml: \[model\]: with_requires must be low"):
        _compile_risk(Risk.SELF_HARM, bad, {})
    alone = tmp_path / "alone.toml"
    alone.write_text(cue + '[model]\nwith_requires = "low"\n', encoding="utf-8")
    with pytest.raises(LexiconError, match="with_requires needs requires"):
        _compile_risk(Risk.SELF_HARM, alone, {})


# Cues that read other things as the writer at risk, found on the DEV half of the RMHD sample
# left out (scripts/loso_halves.py): fear of an illness, cutting people off, medication for a
# condition, and wanting a habit to stop. The sentences are written here, not copied.
@pytest.mark.parametrize(
    "text",
    [
        "A bat flew into my room last month and now I'm sure I have rabies and I'm going to die. "
        "The doctor laughed at me.",
        "Found a lump yesterday. I think I have cancer and now I'm gonna die before I'm 30, "
        "I can't stop googling it",
        "I relapsed after 8 months and they've all cut ties with me, even my brother.",
        "I have never actually taken meds for it, my parents don't believe in ADHD.",
        "I don't want to keep going like this with my drinking, so I told my dad today and he "
        "hugged me.",
    ],
)
def test_illness_fear_cut_ties_treatment_and_habits_are_not_self_harm(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "I relapsed after 200 days and cut my arms again tonight",
        "I have saved up my meds for it and I'm ready",
        "I don't want to keep going anymore, I have nothing left",
        "I'm so sick of everything, I'm going to die tonight, I've decided",
    ],
)
def test_the_same_cues_still_flag_the_writer_at_risk(text: str) -> None:
    assert self_harm(text) >= RiskLevel.LOW


# Ideation, means and acts in the forms forum posts use that no cue knew (found on the DEV
# half of the RMHD sample); written here, not copied.
@pytest.mark.parametrize(
    "text",
    [
        "Some days I wish I'd never been born and tonight is one of them.",
        "Why should I keep on living when every day is the same grey nothing?",
        "Honestly is there any reason to live anymore? I can't find one.",
        "I don't know if I'll still be here by Christmas.",
        "I'm ready to end my miserable life, I've had enough.",
        "I keep thinking about leaving this world, it's all I think about now.",
        "That's it from me. Goodnight forever.",
        "Last night I held a knife to my throat for an hour.",
        "Cutting doesn't help anymore, I want something more final.",
    ],
)
def test_forum_phrasings_of_ideation_and_acts_flag(text: str) -> None:
    assert self_harm(text) >= RiskLevel.LOW


@pytest.mark.parametrize(
    "text",
    [
        "Goodnight everyone, see you all tomorrow!",
        "good night everyone x",
        "I used to wish I'd never been born, but therapy changed that for me.",
        "My grandad says he doesn't know if he'll still be here by Christmas, he's 94.",
        "Is there any reason to live in London rather than Manchester if you work remotely?",
    ],
)
def test_their_look_alikes_do_not(text: str) -> None:
    assert self_harm(text) is RiskLevel.NONE
