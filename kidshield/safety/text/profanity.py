"""An outside model of offensive language: alt-profanity-check's numbers, scored with numpy.

Our training data lacks much ordinary abusive language (docs/safety-log.md, "Outside knowledge: a
profanity model"). alt-profanity-check 1.9.1 (MIT; Victor Zhou, Menelaos Kotoglou, Dimitrios
Mistriotis) was trained on other corpora (Davidson et al.'s tweets, Wikipedia toxic comments).
``scripts/import_profanity_check.py`` copied its model once into ``models/profanity.npz``; this
module reproduces the package's ``predict_prob`` from those numbers with no scikit-learn, joblib
or pickle at run time:

* tokens: the text lower-cased, ``(?u)\\b\\w\\w+\\b`` (scikit-learn's default pattern);
  English stop words are simply absent from the vocabulary, so dropping every word outside it
  drops them too;
* features: raw counts times idf, scaled to unit length over the words in the vocabulary;
* 5 linear SVMs, each margin ``f`` mapped by its sigmoid calibrator ``1 / (1 + exp(a*f + b))``,
  the 5 probabilities averaged (``CalibratedClassifierCV(ensemble=True)``).

Given the raw message it is the package itself (tests/safety/text/test_profanity.py); the
engine gives it kidshield's normalised text, as every other score reads (lower case, leetspeak
and spaced letters undone: "f u c k" reaches it as the word), and training and measurement did
the same.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from operator import add
from pathlib import Path
from typing import Any

import numpy as np

from kidshield.safety.text.modelfiles import (
    MODEL_DIR,
    LoadedOnce,
    ModelError,
    read_manifest,
    sha256,
)

MANIFEST = "profanity.json"
TABLE = "profanity.npz"
LICENCE = "profanity-LICENSE.txt"
# scikit-learn's default token pattern, as the package's vectorizer used it
TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")


class ProfanityModel:
    """``probability(text)``: alt-profanity-check's ``predict_prob`` for one text."""

    def __init__(
        self,
        words: list[str],
        idf: list[float],
        coef: list[list[float]],
        intercept: list[float],
        cal_a: list[float],
        cal_b: list[float],
        manifest: dict[str, Any],
    ) -> None:
        n = len(coef)
        if not (len(intercept) == len(cal_a) == len(cal_b) == n) or n == 0:
            raise ValueError("the models' coefficients, intercepts and calibrators disagree")
        if len(idf) != len(words) or any(len(row) != len(words) for row in coef):
            raise ValueError("vocabulary, idf and coefficients disagree in length")
        # per word: its idf and its idf-weighted coefficient in each model, so a text costs one
        # dictionary look-up per token and a few multiplications
        self._words: dict[str, tuple[float, tuple[float, ...]]] = {
            w: (idf[j], tuple(idf[j] * coef[i][j] for i in range(n))) for j, w in enumerate(words)
        }
        self._intercept = tuple(intercept)
        self._a = tuple(cal_a)
        self._b = tuple(cal_b)
        self.manifest = manifest

    def margins(self, text: str) -> list[float]:
        """The 5 SVM margins of a text (before calibration)."""
        found = TOKEN_RE.findall(text.lower())
        counts = Counter(found) if len(found) > 1 else dict.fromkeys(found, 1)
        sums = [0.0] * len(self._intercept)
        squared = 0.0
        words = self._words
        for word, count in counts.items():
            entry = words.get(word)
            if entry is not None:
                idf, weighted = entry
                squared += (count * idf) ** 2
                # map(add) runs in C; ``1 * w`` is ``w`` exactly, so a word seen once skips
                # the products and the sums come out bit for bit the same
                terms = weighted if count == 1 else [count * w for w in weighted]
                sums = list(map(add, sums, terms))
        norm = math.sqrt(squared) if squared else 1.0
        return [s / norm + b for s, b in zip(sums, self._intercept, strict=True)]

    def probability(self, text: str) -> float:
        total = 0.0
        for f, a, b in zip(self.margins(text), self._a, self._b, strict=True):
            # the calibrator 1 / (1 + exp(a*f + b)); margins of unit-length features stay far
            # from exp's overflow, the bound is for safety only
            total += 1.0 / (1.0 + math.exp(min(a * f + b, 700.0)))
        return total / len(self._a)

    def logit(self, text: str) -> float:
        """log(p / (1 - p)) of :meth:`probability`, bounded: the feature a combiner uses."""
        p = min(max(self.probability(text), 1e-12), 1.0 - 1e-12)
        return math.log(p / (1.0 - p))


def load_profanity(folder: Path = MODEL_DIR) -> ProfanityModel:
    """Read and check the table. Raises :class:`ModelError` naming the bad file."""
    manifest_path = folder / MANIFEST
    manifest = read_manifest(manifest_path, "the profanity model is missing; reinstall kidshield")
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    for name in (TABLE, LICENCE):
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{path}: profanity model file is missing")
        if files.get(name) != sha256(path):
            raise ModelError(
                f"{path}: sha256 does not match {manifest_path} (file altered or corrupt)"
            )
    try:
        with np.load(folder / TABLE, allow_pickle=False) as data:
            return ProfanityModel(
                [str(w) for w in data["vocabulary"].tolist()],
                np.asarray(data["idf"], dtype=np.float64).tolist(),
                np.asarray(data["coef"], dtype=np.float64).tolist(),
                np.asarray(data["intercept"], dtype=np.float64).tolist(),
                np.asarray(data["cal_a"], dtype=np.float64).tolist(),
                np.asarray(data["cal_b"], dtype=np.float64).tolist(),
                manifest,
            )
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ModelError(f"{folder / TABLE}: profanity model is inconsistent ({exc})") from None


_SHIPPED = LoadedOnce(load_profanity)


def shipped_profanity(folder: Path = MODEL_DIR) -> ProfanityModel:
    """The table in ``folder`` (default: the shipped one), loaded once per process."""
    return _SHIPPED(folder)


__all__ = ["ProfanityModel", "load_profanity", "shipped_profanity"]
