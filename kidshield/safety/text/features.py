"""Word and character n-gram features of a normalised message: one definition for training and
inference, so what the model saw while learning is what it sees at run time.

A message is normalised first (:mod:`normalize`: lower case, homoglyphs folded, leetspeak and
spaced-out letters undone, emoji as ``:name:``), then split into tokens. Each distinct token
``t`` appearing ``c`` times weighs ``w = 1 + log(c)``. Features are two blocks, each scaled to
length sqrt(1/2):

* **words**: the tokens (weight ``w``) and the word n-grams from 2 up to ``word_max`` (weight
  ``1 + log(count)``), exact unit length over the n-grams in the vocabulary;
* **characters**: the character n-grams (3-5 by default) inside each token padded with one space
  on each side (scikit-learn calls this ``char_wb``), counted per token and weighted by the
  token's ``w``. The block is scaled by ``sqrt(sum of w^2 * |grams of t|^2)`` over the tokens,
  which is its exact length when no two tokens share an n-gram, and close to it otherwise.

The character block is defined per token on purpose: a token's contribution to every linear
score is then one product, which :class:`classifier.TextClassifier` computes once per distinct
token and remembers (words repeat a lot across messages), so a message costs a dictionary look-up
per token instead of a hundred n-gram look-ups. Only n-grams in the model's vocabulary count;
the vocabulary is chosen at training time (see :mod:`train`).
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

FEATURE_VERSION = 2
# words (letters and digits in any script) and emoji codes from the normaliser
TOKEN_RE = re.compile(r":[a-z0-9_]+:|\w+")
SQRT_HALF = math.sqrt(0.5)
# 1 + log(count) for the counts seen in nearly every message
_LOG_WEIGHT = tuple([0.0] + [1.0 + math.log(c) for c in range(1, 64)])


def count_weight(count: int) -> float:
    return _LOG_WEIGHT[count] if count < 64 else 1.0 + math.log(count)


@dataclass(frozen=True, slots=True)
class FeatureSettings:
    word_min: int = 1
    word_max: int = 2
    char_min: int = 3
    char_max: int = 5
    max_token: int = 30  # characters: longer tokens (URLs, hashes) give no character n-grams

    def __post_init__(self) -> None:
        if self.word_min != 1 or self.word_max < 1:
            raise ValueError("word n-grams start at 1 (the tokens themselves)")
        if not 1 <= self.char_min <= self.char_max:
            raise ValueError("character n-gram sizes must satisfy 1 <= min <= max")

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
    """Every word n-gram of the message, the tokens first (with repeats)."""
    out: list[str] = list(toks)
    count = len(toks)
    for n in range(2, settings.word_max + 1):
        out.extend(" ".join(toks[i : i + n]) for i in range(count - n + 1))
    return out


def longer_word_ngrams(toks: Sequence[str], settings: FeatureSettings) -> list[str]:
    """The word n-grams of two words and more (with repeats)."""
    out: list[str] = []
    count = len(toks)
    for n in range(2, settings.word_max + 1):
        out.extend(" ".join(toks[i : i + n]) for i in range(count - n + 1))
    return out


def token_char_ngrams(token: str, settings: FeatureSettings) -> list[str]:
    """The character n-grams of one token padded with a space each side (with repeats)."""
    if len(token) > settings.max_token:
        return []
    padded = f" {token} "
    size = len(padded)
    out: list[str] = []
    for n in range(settings.char_min, min(settings.char_max, size) + 1):
        out.extend([padded[i : i + n] for i in range(size - n + 1)])
    return out


def char_ngrams(toks: Sequence[str], settings: FeatureSettings) -> list[str]:
    out: list[str] = []
    for tok in toks:
        out.extend(token_char_ngrams(tok, settings))
    return out


TOKEN_CACHE = 200_000  # tokens whose n-gram indexes are remembered
_NO_INDEX: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_NO_VALUE: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TokenGrams:
    """A token's features: its word index (-1 when not in the vocabulary), its character
    n-gram indexes with their counts inside the token, and the squared length of those."""

    word: int
    chars: tuple[int, ...]
    counts: tuple[float, ...]
    squared: float


class Vectorizer:
    """Maps a normalised message to sparse feature indices and values (float64)."""

    def __init__(self, settings: FeatureSettings, words: Sequence[str], chars: Sequence[str]):
        self.settings = settings
        self.words = {gram: i for i, gram in enumerate(words)}
        self.chars = {gram: i for i, gram in enumerate(chars)}
        self.size = len(words) + len(chars)
        self._grams: dict[str, TokenGrams] = {}

    def token_grams(self, token: str, remember: bool = True) -> TokenGrams:
        """A token's features (remembered: words repeat a lot across messages)."""
        cached = self._grams.get(token)
        if cached is None:
            cached = self._token_grams(token)
            if remember and len(self._grams) < TOKEN_CACHE:
                self._grams[token] = cached
        return cached

    def _token_grams(self, token: str) -> TokenGrams:
        get = self.chars.get
        offset = len(self.words)
        found: Counter[int] = Counter(
            i + offset
            for gram in token_char_ngrams(token, self.settings)
            if (i := get(gram)) is not None
        )
        counts = tuple(float(n) for n in found.values())
        return TokenGrams(
            self.words.get(token, -1),
            tuple(found),
            counts,
            sum(n * n for n in counts),
        )

    def sparse(self, normalised: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The message's feature vector as (indexes, values); indexes are distinct."""
        toks = tokens(normalised)
        if not toks:
            return _NO_INDEX, _NO_VALUE
        word_values: dict[int, float] = {}
        char_values: dict[int, float] = {}
        char_squared = 0.0
        for token, count in Counter(toks).items():
            weight = count_weight(count)
            grams = self.token_grams(token)
            if grams.word >= 0:
                word_values[grams.word] = weight
            for index, n in zip(grams.chars, grams.counts, strict=True):
                char_values[index] = char_values.get(index, 0.0) + weight * n
            char_squared += weight * weight * grams.squared
        get = self.words.get
        for gram, count in Counter(longer_word_ngrams(toks, self.settings)).items():
            pair = get(gram)
            if pair is not None:
                word_values[pair] = count_weight(count)
        word_squared = sum(v * v for v in word_values.values())
        indexes = list(word_values) + list(char_values)
        if not indexes:
            return _NO_INDEX, _NO_VALUE
        word_scale = SQRT_HALF / math.sqrt(word_squared) if word_squared else 0.0
        char_scale = SQRT_HALF / math.sqrt(char_squared) if char_squared else 0.0
        values = [v * word_scale for v in word_values.values()]
        values += [v * char_scale for v in char_values.values()]
        return np.asarray(indexes, dtype=np.int64), np.asarray(values, dtype=np.float64)
