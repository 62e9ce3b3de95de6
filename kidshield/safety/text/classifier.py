"""The learned message classifier: per-risk linear models over n-gram features (numpy only).

The shipped model lives in ``models/``: ``manifest.json`` (version, data sources and licences,
feature settings, per-risk calibration, thresholds and figures, a sha256 per file),
``weights.npz`` (one column per risk) and ``vocab.txt`` (the n-grams, words first). It is
loaded once per process, on first use; a missing or altered file is a :class:`ModelError` that
names the file. Training (``kidshield train text``) writes the same three files.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kidshield.safety.text.convmodel import ConversationModel
from kidshield.safety.text.features import (
    SQRT_HALF,
    TOKEN_RE,
    FeatureSettings,
    Vectorizer,
    count_weight,
    longer_word_ngrams,
    tokens,
)
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.modelfiles import MODEL_DIR, LoadedOnce, ModelError, read_manifest
from kidshield.safety.text.modelfiles import sha256 as _sha256
from kidshield.safety.text.normalize import NormalizedText
from kidshield.safety.text.profanity import ProfanityModel, shipped_profanity
from kidshield.safety.text.projection import TokenProjections

MODEL_FORMAT = 2
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
VOCAB = "vocab.txt"


@dataclass(frozen=True, slots=True)
class Head:
    """One risk's calibration and thresholds (probabilities for low, medium, high)."""

    risk: Risk
    column: int
    slope: float  # Platt scaling: p = 1 / (1 + exp(-(slope * margin + intercept)))
    intercept: float
    low: float
    medium: float
    high: float
    # the level the model must reach to flag without any cue of its risk: high when all its
    # training positives are the project's synthetic data, medium otherwise
    alone: RiskLevel = RiskLevel.MEDIUM
    # the outside gate (the bullying head since the tenth session): the outside profanity
    # model's probability (:mod:`profanity`) at or above this lifts the head's probability to
    # its medium threshold, the level the model flags alone from; None: no gate
    profanity_tau: float | None = None

    def calibrated(self, margin: float) -> float:
        """The head's own probability, before the outside gate."""
        z = self.slope * margin + self.intercept
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def lifted(self, p: float, outside: float | None) -> float:
        if self.profanity_tau is not None and outside is not None and outside >= self.profanity_tau:
            return max(p, self.medium)
        return p

    def reads_outside(self, p: float) -> bool:
        """Whether the outside gate could change ``p``: it only lifts to the medium threshold,
        so a gated head already there never needs the profanity model run."""
        return self.profanity_tau is not None and p < self.medium

    def level(self, probability: float) -> RiskLevel:
        if probability >= self.high:
            return RiskLevel.HIGH
        if probability >= self.medium:
            return RiskLevel.MEDIUM
        if probability >= self.low:
            return RiskLevel.LOW
        return RiskLevel.NONE


@dataclass(frozen=True, slots=True)
class Contribution:
    """An n-gram that pushed a risk's score up, located in the normalised text."""

    start: int
    end: int
    gram: str
    weight: float


class TextClassifier:
    def __init__(
        self,
        vectorizer: Vectorizer,
        weights: npt.NDArray[np.float64],
        bias: npt.NDArray[np.float64],
        heads: dict[Risk, Head],
        manifest: dict[str, Any],
        conversation: ConversationModel | None = None,
        profanity: ProfanityModel | None = None,
    ) -> None:
        if weights.shape != (vectorizer.size, len(bias)):
            raise ModelError(
                f"weights have shape {weights.shape}, expected ({vectorizer.size}, {len(bias)})"
            )
        self.vectorizer = vectorizer
        self.weights = weights
        self.bias = bias
        self.heads = heads
        self.manifest = manifest
        self.conversation = conversation  # the conversation-level grooming model, if trained
        gated = [h.risk.value for h in heads.values() if h.profanity_tau is not None]
        if gated and profanity is None:
            raise ModelError(f"heads {', '.join(gated)} are gated by the profanity model, "
                             "which was not given")
        self.profanity = profanity if gated else None
        self._projections = TokenProjections(vectorizer, weights)
        self._bias: list[float] = bias.tolist()
        self._last: tuple[str, npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None
        self._last_outside: tuple[str, float] | None = None

    @property
    def risks(self) -> tuple[Risk, ...]:
        return tuple(self.heads)

    def _sparse(self, normalised: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The features of a text, remembered for the last text (the explanation of a finding
        reads the same message's features again). One slot, replaced whole: thread-safe."""
        last = self._last
        if last is not None and last[0] == normalised:
            return last[1], last[2]
        idx, vals = self.vectorizer.sparse(normalised)
        self._last = (normalised, idx, vals)
        return idx, vals

    def margins(self, normalised: str) -> npt.NDArray[np.float64]:
        """Raw linear scores, one per weight column, from the remembered token products."""
        return np.asarray(self._margin_list(normalised))

    def _margin_list(self, text: str) -> list[float]:
        products = self._projections.products(text)
        if products is None:
            exact: list[float] = self.exact_margins(text).tolist()
            return exact
        return [p + b for p, b in zip(products, self._bias, strict=True)]

    def exact_margins(self, normalised: str) -> npt.NDArray[np.float64]:
        """The same scores from the feature vectors themselves (the definition)."""
        idx, vals = self._sparse(normalised)
        if len(idx) == 0:
            return self.bias.copy()
        exact: npt.NDArray[np.float64] = vals @ self.weights[idx] + self.bias
        return exact

    def outside(self, normalised: str) -> float | None:
        """The profanity model's probability for the text, when a head is gated by it."""
        if self.profanity is None:
            return None
        # one slot, replaced whole (thread-safe): a bullying finding names the gate as evidence
        # after its probability read the same text
        last = self._last_outside
        if last is not None and last[0] == normalised:
            return last[1]
        outside = self.profanity.probability(normalised)
        self._last_outside = (normalised, outside)
        return outside

    def probabilities(self, normalised: str) -> dict[Risk, float]:
        margins = self._margin_list(normalised)
        out: dict[Risk, float] = {}
        outside: float | None = None
        asked = False
        for risk, head in self.heads.items():
            p = head.calibrated(margins[head.column])
            if head.reads_outside(p):
                if not asked:  # the profanity model once per text, and only when it could count
                    outside, asked = self.outside(normalised), True
                p = head.lifted(p, outside)
            out[risk] = p
        return out

    def probability(self, normalised: str, risk: Risk) -> float:
        """One head's probability (the text read again once an exclusion blanked a part)."""
        head = self.heads[risk]
        p = head.calibrated(self._margin_list(normalised)[head.column])
        return head.lifted(p, self.outside(normalised)) if head.reads_outside(p) else p

    def contributions(self, norm: NormalizedText, risk: Risk, limit: int = 3) -> list[Contribution]:
        """The words and word n-grams that raised ``risk`` most, with their place in the
        normalised text.

        The features are defined per token (:mod:`features`), so a token's share of the score
        is exact: its word feature and its own character n-grams, each block at its scale. A
        word n-gram of two words and more counts on its own. Each is placed at its first
        occurrence."""
        column = self.heads[risk].column
        matches = _token_spans(norm.text)
        if not matches:
            return []
        vec, weights = self.vectorizer, self.weights
        toks = [m.group(0) for m in matches]
        counts = Counter(toks)
        grams = {token: vec.token_grams(token) for token in counts}
        places: dict[str, tuple[int, int]] = {}
        for m in matches:
            places.setdefault(m.group(0), m.span())
        longer = Counter(longer_word_ngrams(toks, vec.settings))
        n_gram_values = {
            gram: count_weight(count) for gram, count in longer.items() if gram in vec.words
        }
        word_squared = sum(
            count_weight(count) ** 2 for token, count in counts.items() if grams[token].word >= 0
        ) + sum(v * v for v in n_gram_values.values())
        char_squared = sum(
            count_weight(count) ** 2 * grams[token].squared for token, count in counts.items()
        )
        word_scale = SQRT_HALF / math.sqrt(word_squared) if word_squared else 0.0
        char_scale = SQRT_HALF / math.sqrt(char_squared) if char_squared else 0.0
        scored: list[tuple[float, int, int, str]] = []
        for token, count in counts.items():
            g = grams[token]
            score = 0.0
            if g.word >= 0:
                score += word_scale * float(weights[g.word, column])
            if g.chars:
                score += char_scale * float(np.dot(g.counts, weights[list(g.chars), column]))
            scored.append((score * count_weight(count), *places[token], token))
        for gram, value in n_gram_values.items():
            n = gram.count(" ") + 1
            at = next(
                i for i in range(len(toks) - n + 1) if " ".join(toks[i : i + n]) == gram
            )
            score = value * word_scale * float(weights[vec.words[gram], column])
            scored.append((score, matches[at].start(), matches[at + n - 1].end(), gram))
        scored.sort(key=lambda item: (-item[0], item[1]))
        found: list[Contribution] = []
        for score, start, end, gram in scored:
            if score <= 0 or len(found) >= limit:
                break
            if any(c.start < end and start < c.end for c in found):
                continue
            found.append(Contribution(start, end, gram, score))
        return found


def _token_spans(text: str) -> list[re.Match[str]]:
    return list(TOKEN_RE.finditer(text))


def load_classifier(folder: Path = MODEL_DIR) -> TextClassifier:
    """Read and check a model folder. Raises :class:`ModelError` naming the bad file."""
    manifest_path = folder / MANIFEST
    manifest = read_manifest(
        manifest_path,
        "the text model is missing; reinstall kidshield or run 'kidshield train text --out ...'",
        "model manifest",
    )
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != MODEL_FORMAT:
        raise ModelError(
            f"{manifest_path}: model format {found!r} is not {MODEL_FORMAT}; "
            "retrain with this kidshield"
        )
    files = manifest.get("files", {})
    for name in (WEIGHTS, VOCAB):
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{path}: model file is missing")
        expected = files.get(name)
        if expected != _sha256(path):
            raise ModelError(
                f"{path}: sha256 does not match {manifest_path} (file altered or corrupt)"
            )
    try:
        settings = FeatureSettings.from_dict(manifest["features"])
        n_words = int(manifest["features"]["words"])
        grams = (folder / VOCAB).read_text(encoding="utf-8").split("\n")
        if grams and grams[-1] == "":
            grams.pop()
        with np.load(folder / WEIGHTS, allow_pickle=False) as data:
            # float64 in memory: no conversion per message in the product with the features
            weights = np.ascontiguousarray(data["weights"], dtype=np.float64)
            bias = np.asarray(data["bias"], dtype=np.float64)
        heads: dict[Risk, Head] = {}
        for name, raw in manifest["heads"].items():
            risk = Risk(name)
            cal, th = raw["calibration"], raw["thresholds"]
            heads[risk] = Head(
                risk,
                int(raw["column"]),
                float(cal["slope"]),
                float(cal["intercept"]),
                float(th["low"]),
                float(th["medium"]),
                float(th["high"]),
                RiskLevel.parse(str(raw.get("alone", "medium"))),
                _profanity_tau(raw),
            )
            # models of the fifth session could score long texts by windows as well; none
            # shipped that way, and this kidshield scores every text whole
            if manifest.get("parts") and float(cal.get("part_weight", 1.0)) > 0:
                raise ModelError(
                    f"{manifest_path}: head {name!r} scores long texts by windows "
                    "('train text --windows'), which this kidshield no longer does; retrain"
                )
        vectorizer = Vectorizer(settings, grams[:n_words], grams[n_words:])
        conversation = (
            ConversationModel.from_dict(manifest["conversation"])
            if manifest.get("conversation")
            else None
        )
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ModelError(f"{folder}: model files are inconsistent ({exc})") from None
    # the outside table beside the model, or the shipped one (a model trained into another
    # folder is gated by the same numbers)
    profanity = (
        shipped_profanity(folder if (folder / "profanity.json").is_file() else MODEL_DIR)
        if any(h.profanity_tau is not None for h in heads.values())
        else None
    )
    return TextClassifier(vectorizer, weights, bias, heads, manifest, conversation, profanity)


def _profanity_tau(raw: dict[str, Any]) -> float | None:
    gate = raw.get("profanity_gate")
    return None if gate is None else float(gate["tau"])


_SHIPPED = LoadedOnce(load_classifier)


def shipped_classifier(folder: Path = MODEL_DIR) -> TextClassifier:
    """The model in ``folder`` (default: the shipped one), loaded once per process."""
    return _SHIPPED(folder)


__all__ = [
    "MODEL_DIR",
    "Contribution",
    "Head",
    "ModelError",
    "TextClassifier",
    "load_classifier",
    "shipped_classifier",
    "tokens",
]
