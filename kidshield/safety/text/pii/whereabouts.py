"""The learned whereabouts head: a linear model over hashed n-grams that reads whether a message
tells where to find its writer, scored only where :mod:`places` finds a named place.

Rules written from a writer's own rows carry poorly to a writer they never read (twelfth and
thirteenth sessions); this head, trained on seven writers' DEV halves, finds some of the
whereabouts the rules miss. It never decides more than ``low`` on its own (the rules' cues
decide ``medium`` and above), and the gate keeps it off "i'm at the park with my dad": where
the writer is, with nothing anyone could find.

Features are the message heads' (:mod:`features`: tokens, word bigrams, per-token character
3-5-grams of the normalised text, each block scaled to length sqrt(1/2)) with every n-gram
hashed (crc32) into ``BUCKETS`` instead of a vocabulary, so nothing is chosen from a label.
The weights are ``models/whereabouts.npz`` (float32), checked against ``models/whereabouts.json``
(training data, licence, threshold, figures; written by ``kidshield train text``).
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kidshield.safety.text.features import (
    SQRT_HALF,
    FeatureSettings,
    count_weight,
    longer_word_ngrams,
    token_char_ngrams,
    tokens,
)
from kidshield.safety.text.modelfiles import MODEL_DIR, LoadedOnce, ModelError, sha256
from kidshield.safety.text.pii.places import find_place

BUCKETS = 1 << 18
SETTINGS = FeatureSettings()
WEIGHTS = "whereabouts.npz"
MANIFEST = "whereabouts.json"
FORMAT = 1

Vector = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _bucket(gram: str, salt: str) -> int:
    return zlib.crc32(f"{salt}{gram}".encode()) % BUCKETS


def hashed(normalised: str) -> Vector:
    """The n-grams of a normalised message as bucket indexes and values (see the module doc)."""
    toks = tokens(normalised)
    if not toks:
        return np.zeros(0, np.int64), np.zeros(0)
    words: dict[int, float] = {}
    chars: dict[int, float] = {}
    for token, count in Counter(toks).items():
        weight = count_weight(count)
        i = _bucket(token, "w")
        words[i] = words.get(i, 0.0) + weight
        for gram, n in Counter(token_char_ngrams(token, SETTINGS)).items():
            j = _bucket(gram, "c")
            chars[j] = chars.get(j, 0.0) + weight * n
    for gram, count in Counter(longer_word_ngrams(toks, SETTINGS)).items():
        i = _bucket(gram, "w")
        words[i] = words.get(i, 0.0) + count_weight(count)
    out: dict[int, float] = {}
    for block in (words, chars):
        norm = math.sqrt(sum(v * v for v in block.values()))
        if norm:
            for i, v in block.items():
                out[i] = out.get(i, 0.0) + SQRT_HALF * v / norm
    idx = np.fromiter(out, np.int64, len(out))
    return idx, np.fromiter(out.values(), np.float64, len(out))


@dataclass(frozen=True, slots=True)
class WhereaboutsHead:
    coef: npt.NDArray[np.float32]
    bias: float
    threshold: float

    def margin(self, normalised: str) -> float:
        idx, values = hashed(normalised)
        return float(self.coef[idx].astype(np.float64) @ values) + self.bias

    def place(self, original: str, normalised: str) -> tuple[int, int] | None:
        """The named place in ``original`` when the head reads the message as telling where
        to find its writer (the gate first: the head is scored only where a place is named)."""
        span = find_place(original)
        if span is None or self.margin(normalised) < self.threshold:
            return None
        return span


def load_head(folder: Path) -> WhereaboutsHead | None:
    """The head in ``folder``, or None when the folder ships none (a model trained elsewhere);
    a file that is there but altered or unreadable is a :class:`ModelError`."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ModelError(f"{manifest_path}: format {manifest.get('format')!r} is not {FORMAT}")
        path = folder / WEIGHTS
        if manifest["files"][WEIGHTS] != sha256(path):
            raise ModelError(f"{path}: sha256 does not match {manifest_path} (altered or corrupt)")
        with np.load(path) as saved:
            coef = np.asarray(saved["coef"], dtype=np.float32)
            bias = float(saved["bias"])
        threshold = float(manifest["threshold"])
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{manifest_path}: not a readable whereabouts head ({exc})") from None
    if coef.shape != (BUCKETS,):
        raise ModelError(f"{path}: {coef.shape} weights, expected ({BUCKETS},)")
    return WhereaboutsHead(coef, bias, threshold)


_loaded = LoadedOnce(lambda folder: (load_head(folder),))


def head_in(folder: Path = MODEL_DIR) -> WhereaboutsHead | None:
    """The head in ``folder`` (the shipped one by default), read once per process."""
    return _loaded(folder)[0]


__all__ = ["BUCKETS", "WhereaboutsHead", "hashed", "head_in", "load_head"]
