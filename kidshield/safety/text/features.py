"""Word and character n-gram features of a normalised message: one code path for training and
inference, so what the model saw while learning is bit for bit what it sees at run time.

A message is normalised first (:mod:`normalize`: lower case, homoglyphs folded, leetspeak and
spaced-out letters undone, emoji as ``:name:``), then split into tokens. Features are:

* word n-grams (1-2 by default) over the tokens;
* character n-grams (3-5 by default) inside each token padded with one space on each side
  (scikit-learn calls this ``char_wb``), which catch misspellings and word parts.

Each block is weighted ``1 + log(count)`` and scaled to unit length, then the two blocks are
concatenated with equal weight. Only n-grams in the model's vocabulary count; the vocabulary is
chosen at training time (see :mod:`train`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FEATURE_VERSION = 1
# words (letters and digits in any script) and emoji codes from the normaliser
TOKEN_RE = re.compile(r":[a-z0-9_]+:|\w+")
_SQRT_HALF = math.sqrt(0.5)


@dataclass(frozen=True, slots=True)
class FeatureSettings:
    word_min: int = 1
    word_max: int = 2
    char_min: int = 3
    char_max: int = 5
    max_token: int = 30  # characters: longer tokens (URLs, hashes) give no character n-grams

    def to_dict(self) -> dict[str, int]:
        return {
            "version": FEATURE_VERSION,
            "word_min": self.word_min,
            "word_max": self.word_max,
            "char_min": self.char_min,
            "char_max": self.char_max,
            "max_token": self.max_token,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSettings:
        if raw.get("version") != FEATURE_VERSION:
            raise ValueError(
                f"feature version {raw.get('version')!r}; this kidshield reads {FEATURE_VERSION}"
            )
        return cls(
            int(raw["word_min"]),
            int(raw["word_max"]),
            int(raw["char_min"]),
            int(raw["char_max"]),
            int(raw["max_token"]),
        )


def tokens(normalised: str) -> list[str]:
    return TOKEN_RE.findall(normalised)


def word_ngrams(toks: Sequence[str], settings: FeatureSettings) -> list[str]:
    out: list[str] = []
    count = len(toks)
    for n in range(settings.word_min, settings.word_max + 1):
        if n == 1:
            out.extend(toks)
        else:
            out.extend(" ".join(toks[i : i + n]) for i in range(count - n + 1))
    return out


def char_ngrams(toks: Sequence[str], settings: FeatureSettings) -> list[str]:
    out: list[str] = []
    low, high, limit = settings.char_min, settings.char_max, settings.max_token
    for tok in toks:
        if len(tok) > limit:
            continue
        padded = f" {tok} "
        size = len(padded)
        for n in range(low, min(high, size) + 1):
            out.extend([padded[i : i + n] for i in range(size - n + 1)])
    return out


def _weighted(
    indexes: list[int], split: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Each distinct index once (in order of first appearance; a dot product does not care)
    with weight ``1 + log(count)``; the word block (indexes below ``split``) and the character
    block are each scaled to length sqrt(1/2)."""
    if not indexes:
        return _NO_INDEX, _NO_VALUE
    counts = Counter(indexes)
    unique = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    words = unique < split
    for block in (words, ~words):
        squared = float(np.dot(weights[block], weights[block]))
        if squared:
            weights[block] *= _SQRT_HALF / math.sqrt(squared)
    return unique, weights


_NO_INDEX: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_NO_VALUE: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
TOKEN_CACHE = 200_000  # tokens whose character n-gram indexes are remembered


class Vectorizer:
    """Maps a normalised message to sparse feature indices and values (float64).

    Character n-grams are looked up once per distinct token and remembered (words repeat a
    lot across messages), which is what makes this cheap enough for every message."""

    def __init__(self, settings: FeatureSettings, words: Sequence[str], chars: Sequence[str]):
        self.settings = settings
        self.words = {gram: i for i, gram in enumerate(words)}
        self.chars = {gram: i for i, gram in enumerate(chars)}
        self.size = len(words) + len(chars)
        self._token_chars: dict[str, list[int]] = {}

    def _char_indexes(self, token: str) -> list[int]:
        cached = self._token_chars.get(token)
        if cached is None:
            get = self.chars.get
            offset = len(self.words)
            cached = [
                i + offset
                for gram in char_ngrams((token,), self.settings)
                if (i := get(gram)) is not None
            ]
            if len(self._token_chars) < TOKEN_CACHE:
                self._token_chars[token] = cached
        return cached

    def sparse(self, normalised: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        toks = tokens(normalised)
        get = self.words.get
        word_ids = [i for gram in word_ngrams(toks, self.settings) if (i := get(gram)) is not None]
        char_ids: list[int] = []
        for token in toks:
            char_ids.extend(self._char_indexes(token))
        return _weighted(word_ids + char_ids, len(self.words))

    def gram_of(self, index: int) -> tuple[str, str]:
        """("word" or "char", n-gram) for a feature index (for explanations)."""
        if index < len(self.words):
            return "word", _reverse(self.words)[index]
        return "char", _reverse(self.chars)[index - len(self.words)]


_REVERSED: dict[int, list[str]] = {}


def _reverse(vocab: dict[str, int]) -> list[str]:
    key = id(vocab)
    cached = _REVERSED.get(key)
    if cached is None or len(cached) != len(vocab):
        cached = [""] * len(vocab)
        for gram, i in vocab.items():
            cached[i] = gram
        _REVERSED[key] = cached
    return cached
