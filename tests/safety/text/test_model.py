"""The learned model: loading and its errors, feature parity between training and inference,
calibration, thresholds per level, and deterministic training (on a small sample)."""

from __future__ import annotations

import json
import os
import random
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from kidshield.errors import InputError
from kidshield.safety.text.classifier import (
    MODEL_DIR,
    Head,
    ModelError,
    load_classifier,
    shipped_classifier,
)
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.train import (
    TrainSettings,
    choose_thresholds,
    matrix,
    model_digest,
    sample_weights,
    train,
)
from kidshield.safety.text.trainingdata import read_folders

BUNDLE = Path("/work/shared/data/text-train")
SYNTH = Path(__file__).resolve().parents[3] / "data" / "text-synth"

INSULTS = ["idiot", "loser", "freak", "clown", "moron", "waste of space", "pathetic", "joke"]
OPENERS = ["you are such a", "ur a", "everyone knows you're a", "shut up you", "lol you"]
CHAT = [
    "see you at practice tomorrow",
    "did you finish the maths homework",
    "that film was so good",
    "my mum made pancakes",
    "are you coming to the party saturday",
    "i got a new puppy",
    "the bus was late again",
    "gg that round was close",
    "what time is the match",
    "can you send me the notes from class",
]


def write_sample(folder: Path, seed: int = 3) -> Path:
    """A small labelled sample: templated insults (bullying) and everyday chat (benign)."""
    rng = random.Random(seed)
    rows = []
    for i in range(160):
        if i % 2 == 0:
            text = f"{rng.choice(OPENERS)} {rng.choice(INSULTS)} {rng.choice(['', '!!', 'fr'])}"
            labels = ["bullying"]
        else:
            text = f"{rng.choice(CHAT)} {rng.choice(['', 'lol', 'ok?', ':)'])}"
            labels = ["benign"]
        rows.append({"id": f"r{i}", "text": text.strip(), "labels": labels, "source_label": "t"})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sample.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


SMALL = TrainSettings(min_df=1, max_words=2000, max_chars=4000)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train")
    data = write_sample(root / "data")
    train([data], root / "model", SMALL)
    return root / "model"


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# -- the shipped model -------------------------------------------------------------------------


def test_shipped_model_loads_once_and_is_small() -> None:
    model = shipped_classifier()
    assert shipped_classifier() is model
    assert Risk.BULLYING in model.heads and Risk.SELF_HARM in model.heads
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir() if p.is_file())
    assert size <= 25 * 1024 * 1024


def test_shipped_manifest_names_sources_licences_and_figures() -> None:
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"]
    for name, source in manifest["sources"].items():
        assert source["licence"] != "unknown", name
        assert source["attribution"], name
    assert "stormfront-hate-speech" not in manifest["sources"]  # share-alike: left out
    for head in manifest["heads"].values():
        assert head["test"]["support"] > 0
        assert 0 < head["thresholds"]["low"] <= head["thresholds"]["medium"]
        assert head["thresholds"]["medium"] <= head["thresholds"]["high"] < 1


# -- loading errors ----------------------------------------------------------------------------


def test_missing_model_file_is_a_clear_error(small_model: Path, tmp_path: Path) -> None:
    folder = copy_model(small_model, tmp_path / "m")
    (folder / "weights.npz").unlink()
    with pytest.raises(ModelError, match=r"weights\.npz: model file is missing"):
        load_classifier(folder)


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"manifest\.json: the text model is missing"):
        load_classifier(tmp_path)


def test_altered_weights_are_refused(small_model: Path, tmp_path: Path) -> None:
    folder = copy_model(small_model, tmp_path / "m")
    data = bytearray((folder / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match"):
        load_classifier(folder)


def test_corrupt_manifest_is_a_clear_error(small_model: Path, tmp_path: Path) -> None:
    folder = copy_model(small_model, tmp_path / "m")
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not a readable model manifest"):
        load_classifier(folder)


def test_manifest_from_another_format_is_refused(small_model: Path, tmp_path: Path) -> None:
    folder = copy_model(small_model, tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match="format 99"):
        load_classifier(folder)


# -- features, calibration, thresholds ---------------------------------------------------------


def test_features_at_inference_are_bit_identical_to_training(small_model: Path) -> None:
    model = load_classifier(small_model)
    normalizer = load_lexicon().normalizer
    texts = ["You are such a L0SER!!", "see u at practice tmrw 😊", "", "k y s"]
    normalised = [normalizer.normalize(t).text for t in texts]
    trained = matrix(model.vectorizer, normalised).toarray()
    for row, text in zip(trained, normalised, strict=True):
        idx, vals = model.vectorizer.sparse(text)
        dense = np.zeros(model.vectorizer.size)
        dense[idx] = vals
        assert np.array_equal(dense, row)


def test_small_model_tells_insults_from_chat(small_model: Path) -> None:
    model = load_classifier(small_model)
    normalizer = load_lexicon().normalizer
    insult = model.probabilities(normalizer.normalize("ur such a pathetic loser").text)
    chat = model.probabilities(normalizer.normalize("see you at the party").text)
    assert insult[Risk.BULLYING] > 0.5 > chat[Risk.BULLYING]


def test_calibration_is_monotone_and_within_zero_and_one() -> None:
    for head in shipped_classifier().heads.values():
        margins = np.linspace(-40, 40, 801)
        probabilities = [head.calibrated(float(m)) for m in margins]
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        assert all(a <= b for a, b in pairwise(probabilities))
        assert head.slope > 0


def test_thresholds_map_probabilities_to_levels() -> None:
    head = Head(Risk.BULLYING, 0, 1.0, 0.0, low=0.3, medium=0.6, high=0.9)
    assert head.level(0.29) is RiskLevel.NONE
    assert head.level(0.3) is RiskLevel.LOW
    assert head.level(0.6) is RiskLevel.MEDIUM
    assert head.level(0.95) is RiskLevel.HIGH


def test_threshold_rule_keeps_benign_false_positives_under_the_cap() -> None:
    rng = np.random.default_rng(0)
    positives = rng.uniform(0.4, 1.0, 200)
    benign = rng.uniform(0.0, 0.6, 2000)
    p = np.concatenate([positives, benign])
    y = np.concatenate([np.ones(200, dtype=np.int8), np.zeros(2000, dtype=np.int8)])
    chosen = choose_thresholds(p, y, y == 0, TrainSettings(low_benign_fpr=0.01))
    assert float((benign >= chosen.low).mean()) <= 0.01
    assert chosen.low <= chosen.medium <= chosen.high < 1.0
    flagged = p >= chosen.medium
    assert y[flagged].mean() >= 0.8


# -- determinism -------------------------------------------------------------------------------


def test_training_twice_gives_identical_files(small_model: Path, tmp_path: Path) -> None:
    data = write_sample(tmp_path / "data")
    train([data], tmp_path / "again", SMALL)
    assert model_digest(tmp_path / "again") == model_digest(small_model)


def test_civil_comments_weigh_less_for_the_bullying_head_and_bullying_has_its_own_cap(
    tmp_path: Path,
) -> None:
    """Civil Comments' long toxic news comments were half the bullying positives; the head
    weighs them 0.3 (other heads: 1), and its low threshold keeps ordinary benign flags under
    1 % (others: 2 %). The manifest says both."""
    data = write_sample(tmp_path / "data")
    (data / "sample.jsonl").rename(data / "toxic-spans-civil-comments.jsonl")
    train([data], tmp_path / "model", SMALL)

    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["sources"]["toxic-spans-civil-comments"]
    assert (entry["weight"], entry["bullying_weight"]) == (1.0, 0.3)
    assert manifest["training"]["head_low_benign_fpr"] == {"bullying": 0.01}
    assert "<= 1.0%" in manifest["heads"]["bullying"]["thresholds"]["rule"]
    rows = read_folders([data])
    assert set(sample_weights(rows, Risk.BULLYING)) == {0.3}
    assert set(sample_weights(rows, Risk.SELF_HARM)) == {1.0}
    assert TrainSettings().for_head(Risk.SELF_HARM).low_benign_fpr == 0.02


def test_bad_training_row_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [
        {"id": "1", "text": "hi", "labels": ["benign"]},
        {"id": "2", "text": "x", "labels": ["rude"]},
    ]
    (folder / "bad.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    with pytest.raises(InputError, match=r"bad\.jsonl:2: unknown label 'rude'"):
        train([folder], tmp_path / "out", SMALL)


@pytest.mark.skipif(
    not (BUNDLE.is_dir() and os.environ.get("KIDSHIELD_FULL_TRAINING")),
    reason="full reproduction: needs /work/shared/data/text-train and KIDSHIELD_FULL_TRAINING=1 "
    "(about 10 minutes)",
)
def test_full_training_reproduces_the_shipped_figures(tmp_path: Path) -> None:
    folders = [BUNDLE] + ([SYNTH] if SYNTH.is_dir() else [])
    figures = train(folders, tmp_path / "model")
    shipped = json.loads((MODEL_DIR / "manifest.json").read_text(encoding="utf-8"))
    for risk, head in shipped["heads"].items():
        for key in ("precision", "recall", "f1", "roc_auc", "pr_auc"):
            assert figures[risk][key] == pytest.approx(head["test"][key], abs=0.01), (risk, key)
    # the learned whereabouts head (pii/whereabouts.py) is trained by the same command
    where = json.loads((MODEL_DIR / "whereabouts.json").read_text(encoding="utf-8"))
    for key, value in where["figures"].items():
        assert figures["whereabouts"][key] == pytest.approx(value, abs=0.01), key


def test_personal_information_evaluation_data_is_not_training_data(tmp_path: Path) -> None:
    from kidshield.safety.text.trainingdata import source_files, source_name

    data = write_sample(tmp_path / "data" / "messages")
    for name in ("personal-info", "personal-info-z"):  # any writer's set, named or not yet
        held = tmp_path / "data" / name
        held.mkdir()
        (held / "heldout.jsonl").write_text(
            json.dumps({"id": "p1", "text": "call 07700 900123", "labels": ["personal_info"]})
            + "\n", encoding="utf-8",
        )
    names = [source_name(tmp_path / "data", p) for p in source_files(tmp_path / "data")]
    assert names == ["messages/sample"]
    assert data.is_dir()


def test_a_folder_marked_not_training_data_is_not_read(tmp_path: Path) -> None:
    from kidshield.safety.text.trainingdata import NOT_TRAINING_MARKER, source_files, source_name

    write_sample(tmp_path / "data" / "messages")
    held = tmp_path / "data" / "selfharm-z" / "posts"
    held.mkdir(parents=True)
    (held / "at_risk.jsonl").write_text(
        json.dumps({"id": "s1", "text": "tonight is the night", "labels": ["self_harm"]}) + "\n",
        encoding="utf-8",
    )
    names = [source_name(tmp_path / "data", p) for p in source_files(tmp_path / "data")]
    assert names == ["messages/sample", "selfharm-z/posts/at_risk"]
    (held.parent / NOT_TRAINING_MARKER).write_text("did not clear its bar\n", encoding="utf-8")
    names = [source_name(tmp_path / "data", p) for p in source_files(tmp_path / "data")]
    assert names == ["messages/sample"]


def test_the_third_self_harm_writer_is_held_out_of_training() -> None:
    from kidshield.safety.text.trainingdata import source_files, source_name

    synth = Path(__file__).parents[3] / "data" / "text-synth"
    assert (synth / "selfharm-c" / "at_risk_posts.jsonl").is_file()
    names = [source_name(synth, p) for p in source_files(synth)]
    assert not [n for n in names if n.startswith("selfharm-c")]


def test_no_personal_information_set_of_the_repo_is_training_data() -> None:
    from kidshield.safety.text.trainingdata import source_files, source_name

    synth = Path(__file__).parents[3] / "data" / "text-synth"
    evaluation = sorted(p.name for p in synth.iterdir() if p.name.startswith("personal-info"))
    # the first writer's set and the later voices' (the fifth, -e, was once read as training
    # data because the folders were listed by name; the sixth, -f, is forms, tickets and bios)
    # the seventh, -g, is whereabouts in kid chat
    voices = {"personal-info", "personal-info-d", "personal-info-e", "personal-info-f"}
    assert voices | {"personal-info-g"} <= set(evaluation)
    names = [source_name(synth, p) for p in source_files(synth)]
    assert not [n for n in names if n.startswith("personal-info")]


# -- remembered token products ---------------------------------------------------------------


PARITY_TEXTS = [
    "You are such a L0SER!!",
    "see u at practice tmrw 😊 see u",
    "",
    "   ",
    "lol lol lol you you idiot idiot idiot ur a loser ur a loser",
    "a" * 45 + " idiot",  # a token too long for character n-grams
    "shut up you pathetic clown, shut up you pathetic clown",
    "did you finish the maths homework? the bus was late again",
    # longer than a window: scored by its parts too
    " ".join(CHAT * 3) + " you are such a pathetic clown " + " ".join(CHAT * 2),
]


def test_remembered_token_products_give_the_feature_vector_scores(small_model: Path) -> None:
    model = load_classifier(small_model)
    normalizer = load_lexicon().normalizer
    for text in PARITY_TEXTS * 2:  # the second round reads the remembered rows
        normalised = normalizer.normalize(text).text
        fast, exact = model.margins(normalised), model.exact_margins(normalised)
        assert np.allclose(fast, exact, rtol=0, atol=1e-12), text


def test_full_token_table_starts_again_and_scores_stay_right(small_model: Path) -> None:
    from kidshield.safety.text.projection import TokenProjections

    model = load_classifier(small_model)
    model._projections = TokenProjections(model.vectorizer, model.weights, capacity=8)
    normalizer = load_lexicon().normalizer
    rng = random.Random(5)
    for _ in range(60):
        words = [rng.choice(INSULTS + CHAT) for _ in range(rng.randint(1, 4))]
        normalised = normalizer.normalize(" ".join(words)).text
        assert np.allclose(model.margins(normalised), model.exact_margins(normalised), atol=1e-12)
    assert len(model._projections._state.rows) <= 8


@pytest.mark.parametrize("word_max", [1, 2, 3])
def test_token_products_count_the_longer_word_ngrams_as_the_features_do(word_max: int) -> None:
    # the remembered word n-grams (pairs, and triples when a model has them) are counted in
    # the order they first occur, repeats weighed as the feature vector weighs them
    from kidshield.safety.text.features import (
        FeatureSettings,
        Vectorizer,
        longer_word_ngrams,
        token_char_ngrams,
    )
    from kidshield.safety.text.projection import TokenProjections

    settings = FeatureSettings(word_max=word_max)
    texts = [
        "you are a loser you are a loser",
        "shut up shut up shut up clown",
        "see you at the bus see you",
        "clown",
        "",
    ]
    words = sorted({t for text in texts for t in text.split()})
    words += sorted({g for text in texts for g in longer_word_ngrams(text.split(), settings)})
    words = [w for i, w in enumerate(words) if i % 4 != 3]  # some n-grams out of the vocabulary
    chars = sorted(
        {g for text in texts for t in text.split() for g in token_char_ngrams(t, settings)}
    )
    vectorizer = Vectorizer(settings, words, chars)
    weights = np.random.default_rng(3).normal(size=(vectorizer.size, 3))
    projections = TokenProjections(vectorizer, weights)
    for text in texts * 2:  # the second round reads the remembered rows
        products = projections.products(text)
        assert products is not None
        idx, vals = vectorizer.sparse(text)
        exact = vals @ weights[idx] if len(idx) else np.zeros(3)
        assert np.allclose(products, exact, rtol=0, atol=1e-12), (word_max, text)


def test_a_model_that_scores_windows_is_refused(small_model: Path, tmp_path: Path) -> None:
    # `train text --windows` (fifth session) wrote "parts" and a share per head; such a model
    # would now be scored whole, differently from how it was calibrated
    folder = tmp_path / "windows"
    shutil.copytree(small_model, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["parts"] = {"window": 32, "stride": 16, "max_parts": 24}
    for head in manifest["heads"].values():
        head["calibration"]["part_weight"] = 0.0
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    load_classifier(folder)  # a share of 0 everywhere is the whole text: as before
    next(iter(manifest["heads"].values()))["calibration"]["part_weight"] = 0.4
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match=r"manifest\.json.*windows.*retrain"):
        load_classifier(folder)
