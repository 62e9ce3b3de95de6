"""The imported profanity model (alt-profanity-check 1.9.1 as a numpy table): it reproduces the
package's ``predict_prob`` (values stored by scripts/import_profanity_check.py, so CI needs no
scikit-learn), a changed or missing file is refused, naming it, and a head gated by it
(manifest ``profanity_gate``) is lifted to its medium threshold where the outside model
passes the text."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from kidshield.safety.text import assess_message
from kidshield.safety.text.classifier import MODEL_DIR, ModelError, TextClassifier, load_classifier
from kidshield.safety.text.combine import OUTSIDE_STAGE, Combiner
from kidshield.safety.text.model import Risk
from kidshield.safety.text.profanity import (
    LICENCE,
    MANIFEST,
    TABLE,
    load_profanity,
    shipped_profanity,
)
from kidshield.safety.text.train import TrainSettings, gate_tau, train
from tests.safety.text.test_model import SMALL, write_sample

FIXTURE = Path(__file__).parent / "data" / "profanity_expected.json"


def test_scorer_equals_the_package_on_stored_texts() -> None:
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))["rows"]
    assert len(rows) >= 300
    model = shipped_profanity()
    worst = max(abs(model.probability(r["text"]) - r["prob"]) for r in rows)
    assert worst <= 1e-9
    # the fixture is not degenerate: both sides of 0.5 are represented
    probs = [r["prob"] for r in rows]
    assert min(probs) < 0.1 and max(probs) > 0.9


def test_logit_is_the_probability_on_the_log_odds_scale() -> None:
    model = shipped_profanity()
    for text in ("you are a fucking idiot", "see you at practice", ""):
        p = model.probability(text)
        assert math.isclose(1 / (1 + math.exp(-model.logit(text))), p, rel_tol=1e-9)
    assert model.logit("fuck fuck fuck") > 0 > model.logit("see you at practice tomorrow")


def copy_table(tmp_path: Path) -> Path:
    for name in (MANIFEST, TABLE, LICENCE):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    return tmp_path


def test_a_copied_table_loads(tmp_path: Path) -> None:
    model = load_profanity(copy_table(tmp_path))
    assert model.probability("FUCK") > 0.99


@pytest.mark.parametrize("name", [TABLE, LICENCE])
def test_missing_file_is_refused_by_name(tmp_path: Path, name: str) -> None:
    (copy_table(tmp_path) / name).unlink()
    missing = rf"{name.replace('.', '[.]')}: profanity model file is missing"
    with pytest.raises(ModelError, match=missing):
        load_profanity(tmp_path)


@pytest.mark.parametrize("name", [TABLE, LICENCE])
def test_altered_file_is_refused_by_name(tmp_path: Path, name: str) -> None:
    path = copy_table(tmp_path) / name
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(ModelError, match=rf"{name.replace('.', '[.]')}: sha256 does not match"):
        load_profanity(tmp_path)


def test_missing_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"profanity\.json: the profanity model is missing"):
        load_profanity(tmp_path)


def test_unreadable_manifest_is_refused(tmp_path: Path) -> None:
    (copy_table(tmp_path) / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"profanity\.json: not a readable manifest"):
        load_profanity(tmp_path)


# -- the bullying head gated by it (classifier, train, combine) ----------------------------------


def copy_model(tmp_path: Path, tau: float | None) -> Path:
    """The shipped model with its bullying head gated at ``tau``, or not gated (None); the
    manifest's sha256 covers the weights and vocabulary, not the manifest itself."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "weights.npz", "vocab.txt"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    if tau is None:
        manifest["heads"]["bullying"].pop("profanity_gate", None)
    else:
        manifest["heads"]["bullying"]["profanity_gate"] = {"tau": tau, "rule": "test"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


SWEAR = "what the fuck is this shit homework"


def test_the_gate_lifts_what_the_outside_model_passes_to_medium(tmp_path: Path) -> None:
    plain = load_classifier(copy_model(tmp_path / "plain", None))
    gated = load_classifier(copy_model(tmp_path / "gated", 0.8))
    assert plain.profanity is None and gated.profanity is not None
    head = gated.heads[Risk.BULLYING]
    assert head.profanity_tau == 0.8
    outside = shipped_profanity().probability
    assert outside(SWEAR) >= 0.8 > outside("see you at 5")
    before = plain.probabilities(SWEAR)[Risk.BULLYING]
    assert before < head.medium
    assert gated.probabilities(SWEAR)[Risk.BULLYING] == head.medium
    assert gated.probability(SWEAR, Risk.BULLYING) == head.medium
    for text in ("see you at 5", "you are a fucking idiot"):
        # below tau, or already above medium: the head's own probability
        assert gated.probabilities(text)[Risk.BULLYING] == max(
            plain.probabilities(text)[Risk.BULLYING],
            head.medium if outside(text) >= 0.8 else 0.0,
        )
        assert gated.probabilities(text)[Risk.SELF_HARM] == plain.probabilities(text)[
            Risk.SELF_HARM
        ]


def test_a_gated_head_without_the_table_is_refused() -> None:
    plain = load_classifier(MODEL_DIR)
    heads = dict(plain.heads)
    heads[Risk.BULLYING] = dataclasses.replace(heads[Risk.BULLYING], profanity_tau=0.5)
    with pytest.raises(ModelError, match="bullying are gated by the profanity model"):
        TextClassifier(plain.vectorizer, plain.weights, plain.bias, heads, {})


def test_gate_tau_leaves_the_share_of_ordinary_benign_rows_above_it() -> None:
    outside = np.linspace(0.0, 1.0, 1001)
    ordinary = np.ones(1001, dtype=np.bool_)
    ordinary[900:] = False  # the highest scores are not ordinary benign rows
    tau = gate_tau(outside, ordinary, 0.02)
    assert (outside[ordinary] >= tau).mean() == pytest.approx(0.02, abs=0.002)
    assert gate_tau(outside, np.zeros(1001, dtype=np.bool_), 0.02) == 1.0


def test_the_engine_names_the_outside_model_and_keeps_its_rules(tmp_path: Path) -> None:
    engine = Combiner(load_classifier(copy_model(tmp_path / "gated", 0.8)))
    aimed = "ur such a fucking dumbass lmao nobody likes u"
    finding = assess_message(aimed, engine=engine).finding(Risk.BULLYING)
    assert finding is not None and OUTSIDE_STAGE in finding.stages
    # swearing at nothing passes the outside model but is aimed at no one: not bullying
    assert shipped_profanity().probability(SWEAR) >= 0.8
    assert assess_message(SWEAR, engine=engine).finding(Risk.BULLYING) is None
    # a model without the gate never names it; the shipped one is gated (tenth session)
    ungated = Combiner(load_classifier(copy_model(tmp_path / "plain", None)))
    plain = assess_message(aimed, engine=ungated)
    assert all(OUTSIDE_STAGE not in f.stages for f in plain.findings)
    shipped = assess_message(aimed).finding(Risk.BULLYING)
    assert shipped is not None and OUTSIDE_STAGE in shipped.stages


def test_training_writes_the_gate_and_the_loaded_model_uses_it(tmp_path: Path) -> None:
    data = write_sample(tmp_path / "data")
    settings = dataclasses.replace(SMALL, profanity_gate={Risk.BULLYING: 0.02}, profanity_tau={})
    train([data], tmp_path / "model", settings)
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["training"]["profanity_gate"] == {"bullying": 0.02}
    gate = manifest["heads"]["bullying"]["profanity_gate"]
    assert 0.0 < gate["tau"] <= 1.0
    assert "profanity_gate" not in manifest["heads"].get("self_harm", {})
    model = load_classifier(tmp_path / "model")
    assert model.heads[Risk.BULLYING].profanity_tau == gate["tau"]
    assert model.profanity is not None
    # a fixed tau instead of a share
    fixed = dataclasses.replace(SMALL, profanity_tau={Risk.BULLYING: 0.8})
    train([data], tmp_path / "fixed", fixed)
    assert load_classifier(tmp_path / "fixed").heads[Risk.BULLYING].profanity_tau == 0.8
    # the default: bullying gated at a fixed 0.8; without either setting, no gate
    assert TrainSettings().profanity_tau == {Risk.BULLYING: 0.8}
    train([data], tmp_path / "plain", dataclasses.replace(SMALL, profanity_tau={}))
    assert load_classifier(tmp_path / "plain").profanity is None
