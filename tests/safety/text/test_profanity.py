"""The imported profanity model (alt-profanity-check 1.9.1 as a numpy table): it reproduces the
package's ``predict_prob`` (values stored by scripts/import_profanity_check.py, so CI needs no
scikit-learn), and a changed or missing file is refused, naming it."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from kidshield.safety.text.classifier import MODEL_DIR, ModelError
from kidshield.safety.text.profanity import (
    LICENCE,
    MANIFEST,
    TABLE,
    load_profanity,
    shipped_profanity,
)

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
