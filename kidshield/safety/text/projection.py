"""The model's scores without building feature vectors: each distinct token's features times the
weights, computed once and remembered.

The features (:mod:`features`) are defined per token, so a message's linear scores are the
weighted sum of its tokens' (and word pairs') products with the weight matrix, scaled by each
block's length. Words repeat a lot across messages: a remembered token costs one dictionary
look-up, and a message one small matrix product, instead of a hundred n-gram look-ups and a
gather over the weight matrix. :class:`features.Vectorizer` stays the definition (training and
explanations use it); this gives the same numbers up to rounding, which a test checks.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from kidshield.safety.text.features import (
    SQRT_HALF,
    Vectorizer,
    count_weight,
    longer_word_ngrams,
    tokens,
)

CAPACITY = 100_000  # remembered tokens and word pairs; then the table starts again empty
_FIRST = 4_096


@dataclass(slots=True)
class _Table:
    """Rows: ``[word part (k), character part (k), in word vocabulary, squared char length]``."""

    rows: dict[str, int]
    data: npt.NDArray[np.float64]
    used: int = 0


class TokenProjections:
    """Thread-safe: rows are only appended (under a lock), and a full table is replaced whole,
    so a reader always sees rows it was given."""

    def __init__(
        self, vectorizer: Vectorizer, weights: npt.NDArray[np.float64], capacity: int = CAPACITY
    ) -> None:
        self.vectorizer = vectorizer
        self.weights = weights
        self.k = int(weights.shape[1])
        self.capacity = capacity
        self._lock = threading.Lock()
        self._state = self._empty()
        self._pairs = vectorizer.settings.word_max == 2

    def _empty(self) -> _Table:
        return _Table({}, np.zeros((min(_FIRST, self.capacity), 2 * self.k + 2)))

    def products(self, normalised: str) -> list[float] | None:
        """The features of ``normalised`` times the weights (no bias), one number per column;
        None when the table was just replaced (the caller computes them the long way)."""
        toks = tokens(normalised)
        k = self.k
        if not toks:
            return [0.0] * k
        state = self._state
        get = state.rows.get
        counts = Counter(toks)
        ids: list[int] = []
        for token in counts:
            row = get(token)
            if row is None:
                row = self._add(state, token, -1)
                if row is None:
                    return None
            ids.append(row)
        repeated = len(counts) != len(toks)
        factors = [count_weight(c) for c in counts.values()] if repeated else [1.0] * len(ids)
        gram_rows = self._gram_rows(state, toks)
        if gram_rows is None:
            return None
        for row, count in gram_rows.items():
            ids.append(row)
            if count > 1:
                factors.append(count_weight(count))
                repeated = True
            else:
                factors.append(1.0)
        rows = state.data.take(ids, axis=0)  # take and dot: a third of [] and @ on small arrays
        coefficients = np.asarray(factors)
        summed = np.dot(coefficients, rows).tolist()
        # the squared lengths need the squared factors (all 1 in most messages)
        squares = np.dot(coefficients * coefficients, rows[:, 2 * k :]) if repeated else None
        word_squared, char_squared = (
            summed[2 * k :] if squares is None else squares.tolist()
        )
        word = SQRT_HALF / math.sqrt(word_squared) if word_squared else 0.0
        char = SQRT_HALF / math.sqrt(char_squared) if char_squared else 0.0
        return [summed[i] * word + summed[k + i] * char for i in range(k)]

    def _gram_rows(self, state: _Table, toks: list[str]) -> dict[int, int] | None:
        """The rows of the message's word n-grams of two words and more that are in the
        vocabulary, with their counts, in the order the n-grams first occur (None when the
        table was just replaced). A remembered n-gram costs one look-up, in the table."""
        words = self.vectorizer.words
        get = state.rows.get
        grams = (
            [f"{first} {second}" for first, second in pairwise(toks)]
            if self._pairs
            else longer_word_ngrams(toks, self.vectorizer.settings)
        )
        found: dict[int, int] = {}
        for gram in grams:
            row = get(gram)
            if row is None:
                index = words.get(gram)
                if index is None:
                    continue
                row = self._add(state, gram, index)
                if row is None:
                    return None
            found[row] = found.get(row, 0) + 1
        return found

    def _add(self, state: _Table, key: str, word_index: int) -> int | None:
        """Remember ``key`` (a token, or a word pair with its index) and give its row."""
        with self._lock:
            if state is not self._state:
                return None
            row = state.rows.get(key)
            if row is not None:
                return row
            if state.used == len(state.data):
                if len(state.data) >= self.capacity:
                    self._state = self._empty()
                    return None
                grown = np.zeros((min(2 * len(state.data), self.capacity), 2 * self.k + 2))
                grown[: state.used] = state.data[: state.used]
                state.data = grown
            state.data[state.used] = self._row(key, word_index)
            row = state.used
            state.used += 1
            state.rows[key] = row
            return row

    def _row(self, key: str, word_index: int) -> npt.NDArray[np.float64]:
        k, weights = self.k, self.weights
        out = np.zeros(2 * k + 2)
        if word_index >= 0:  # a word pair: word part only
            out[:k] = weights[word_index]
            out[2 * k] = 1.0
            return out
        grams = self.vectorizer.token_grams(key, remember=False)
        if grams.word >= 0:
            out[:k] = weights[grams.word]
            out[2 * k] = 1.0
        if grams.chars:
            out[k : 2 * k] = np.asarray(grams.counts) @ weights[list(grams.chars)]
            out[2 * k + 1] = grams.squared
        return out
