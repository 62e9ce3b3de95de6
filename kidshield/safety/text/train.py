"""Training the message classifier (``kidshield train text``). Needs the ``[train]`` extra.

Steps, all deterministic (fixed order, fixed seeds; training twice gives identical files):

1. read every source under the data folders (:mod:`trainingdata`), cut chat segments into
   messages, split by a hash of the conversation (or row) id into train / validation / test;
2. choose the vocabulary on the train split: n-grams seen in at least ``min_df`` messages,
   ranked by how strongly they tell any risk apart from the rest (chi-squared), the best
   ``max_words`` word and ``max_chars`` character n-grams kept;
3. one logistic regression per risk on the train split (templated sources down-weighted);
4. on the validation split: Platt calibration, then the thresholds for low / medium / high
   (:func:`choose_thresholds`);
5. on the test split: the figures reported in the manifest (never used to choose anything).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kidshield.errors import InputError
from kidshield.safety.text.classifier import (
    MANIFEST,
    MODEL_FORMAT,
    VOCAB,
    WEIGHTS,
    Head,
    TextClassifier,
)
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.features import (
    FeatureSettings,
    Vectorizer,
    char_ngrams,
    tokens,
    word_ngrams,
)
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.profanity import shipped_profanity
from kidshield.safety.text.trainconv import (
    MIN_CONVERSATIONS,
    conversations,
    fit_conversation_model,
)
from kidshield.safety.text.trainingdata import (
    TEST,
    TRAIN,
    VALIDATION,
    Row,
    message_rows,
    read_folders,
    source_files,
    source_name,
)

MAX_CHARS = 20_000  # as assess_message: longer texts are cut for training

# which row labels make a positive for each head. Hate and threats aimed at groups feed the
# bullying head: for a child on a platform they are abuse too, and the bundle's few threat rows
# could not carry a head of their own.
HEAD_LABELS: dict[Risk, frozenset[str]] = {
    Risk.BULLYING: frozenset({"bullying", "hate", "threat"}),
    Risk.SELF_HARM: frozenset({"self_harm"}),
    Risk.SEXUAL_CONTENT: frozenset({"sexual_content"}),
    Risk.SEXTORTION: frozenset({"sextortion"}),
    Risk.GROOMING: frozenset({"grooming"}),
}
MIN_POSITIVES = 20  # a head needs this many positives in the train split to be trained


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    licence: str
    attribution: str
    weight: float = 1.0  # sample weight of its rows
    ship: bool = True  # may the shipped weights be trained on it?
    # benign rows written to look like a risk (counter-speech, quoting, support talk): they
    # count against precision, but not in the benign false-positive cap of ordinary talk
    hard_negatives: bool = False
    # a head that should weigh the rows otherwise (instead of ``weight``)
    head_weights: Mapping[Risk, float] = field(default_factory=dict)

    def weight_for(self, risk: Risk) -> float:
        return self.head_weights.get(risk, self.weight)


# Known sources of the shared bundle (see its README) and of the project's own data.
SOURCES: dict[str, SourcePolicy] = {
    "hatecheck": SourcePolicy(
        "CC-BY-4.0",
        "HateCheck, Röttger et al. 2021 (paul-rottger/hatecheck-data)",
        weight=0.3,  # templated test cases: n-gram models overfit them
        hard_negatives=True,
    ),
    "stormfront-hate-speech": SourcePolicy(
        "CC-BY-SA-3.0",
        "de Gibert et al. 2018, Hate Speech Dataset from a White Supremacy Forum "
        "(Vicomtech/hate-speech-dataset)",
        ship=False,
    ),
    "toxic-spans-civil-comments": SourcePolicy(
        "CC0-1.0",
        "Toxic Spans, Pavlopoulos et al. 2021, from Civil Comments",
        # 11,000 long news comments, every one toxic, were half the bullying positives: the
        # head learnt their register (even "a", "to") more than insults aimed at someone, and
        # missed tweets and chat left out of training (docs/safety-log.md, "The bullying head")
        head_weights={Risk.BULLYING: 0.3},
    ),
    "convabuse": SourcePolicy("CC-BY-4.0", "ConvAbuse, Cercas Curry et al. 2021"),
    "toxigen-prompts": SourcePolicy(
        "MIT",
        "ToxiGen prompts, Hartvigsen et al. 2022 (Microsoft)",
        weight=0.3,
        hard_negatives=True,
    ),
    "goemotions-benign": SourcePolicy("Apache-2.0", "GoEmotions, Demszky et al. 2020 (Google)"),
    "chitchat-byu-pccl": SourcePolicy("MIT", "BYU PCCL chit-chat dataset"),
    "counsel-chat": SourcePolicy("MIT", "counsel-chat, Bertagnolli 2020"),
    "reddit-mental-health-rmhd-sample": SourcePolicy(
        "Apache-2.0 (package); upstream PDDL-1.0, Reddit API terms",
        "Reddit Mental Health Dataset, Low et al. 2020, sample from construct-tracker",
    ),
    "diasafety": SourcePolicy(
        "Apache-2.0", "DiaSafety, Sun et al. 2022 (thu-coai)", hard_negatives=True
    ),
}
_OWN = SourcePolicy("Apache-2.0", "written for kidshield by its contributors (synthetic)")


_OWN_HARD = SourcePolicy(_OWN.licence, _OWN.attribution, hard_negatives=True)


def policy_for(source: str) -> SourcePolicy:
    if source in SOURCES:
        return SOURCES[source]
    if "/" in source:  # the project's own data: "<folder>/<file>"
        return _OWN_HARD if "negative" in source.rsplit("/", 1)[1] else _OWN
    return SourcePolicy("unknown", source)


@dataclass(frozen=True, slots=True)
class TrainSettings:
    features: FeatureSettings = field(default_factory=FeatureSettings)
    min_df: int = 3
    max_words: int = 60_000
    max_chars: int = 140_000
    c: float = 4.0
    positive_weight: float = 3.0  # extra weight on positives (rare classes)
    low_benign_fpr: float = 0.02  # low: best F1 keeping benign false positives under this
    # ... or under this for a head. Bullying's low threshold usually reaches medium's precision
    # already, so it is the level at which the model flags an insult alone, and ordinary
    # comments from a source it never saw were flagged 2-3 times as often as the cap
    head_low_benign_fpr: Mapping[Risk, float] = field(
        default_factory=lambda: {Risk.BULLYING: 0.01}
    )
    medium_precision: float = 0.8
    high_precision: float = 0.95
    include_share_alike: bool = False
    # heads gated by the outside profanity model (profanity.py), with the share of the
    # validation split's ordinary benign messages its tau leaves above it (docs/safety-log.md,
    # "Outside knowledge: a profanity model")
    profanity_gate: Mapping[Risk, float] = field(default_factory=dict)
    # ... or with a fixed tau, whatever validation holds (tau from a share falls as low as the
    # ordinary talk there is clean: 0.54 once GoEmotions was left out, where 0.80 is usual)
    # (bullying at 0.8: docs/safety-log.md, "Outside knowledge", the second candidate)
    profanity_tau: Mapping[Risk, float] = field(default_factory=lambda: {Risk.BULLYING: 0.8})

    def gated_heads(self) -> set[Risk]:
        return set(self.profanity_gate) | set(self.profanity_tau)

    def gate_rule(self, risk: Risk) -> str:
        if risk in self.profanity_tau:
            return "tau fixed"
        return (
            f"tau leaves {self.profanity_gate[risk]:.0%} of ordinary benign validation "
            "messages above it"
        )

    def for_head(self, risk: Risk) -> TrainSettings:
        """These settings with the head's own benign cap."""
        cap = self.head_low_benign_fpr.get(risk, self.low_benign_fpr)
        return dataclasses.replace(self, low_benign_fpr=cap)

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_df": self.min_df,
            "max_words": self.max_words,
            "max_chars": self.max_chars,
            "c": self.c,
            "positive_weight": self.positive_weight,
            "low_benign_fpr": self.low_benign_fpr,
            "head_low_benign_fpr": {
                risk.value: cap for risk, cap in sorted(self.head_low_benign_fpr.items())
            },
            "medium_precision": self.medium_precision,
            "high_precision": self.high_precision,
            "include_share_alike": self.include_share_alike,
            "profanity_gate": {
                risk.value: share for risk, share in sorted(self.profanity_gate.items())
            },
            "profanity_tau": {
                risk.value: tau for risk, tau in sorted(self.profanity_tau.items())
            },
        }


def train_settings(*, include_share_alike: bool = False) -> TrainSettings:
    """The settings of ``kidshield train text`` and ``eval text --loso`` from their flags."""
    return TrainSettings(include_share_alike=include_share_alike)


Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass(slots=True)
class Prepared:
    """Message rows with their normalised text, ready for the vectoriser, and the rows as
    read (chat segments whole, for the conversation model)."""

    rows: list[Row]
    texts: list[str]
    whole: list[Row] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # source -> sha256 of its file

    def where(self, keep: Callable[[Row], bool]) -> Prepared:
        pairs = [(r, t) for r, t in zip(self.rows, self.texts, strict=True) if keep(r)]
        return Prepared(
            [r for r, _ in pairs],
            [t for _, t in pairs],
            [r for r in self.whole if keep(r)],
            self.digests,
        )


def prepare(
    folders: Sequence[Path], settings: TrainSettings, progress: Progress = _quiet
) -> Prepared:
    whole = read_folders(list(folders))
    if not settings.include_share_alike:
        whole = [r for r in whole if policy_for(r.source).ship]
    rows = message_rows(whole)
    progress(f"{len(rows)} messages from {len({r.source for r in rows})} sources; normalising")
    normalizer = load_lexicon().normalizer
    texts = [normalizer.normalize(r.text[:MAX_CHARS]).text for r in rows]
    digests = {
        source_name(folder, path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in source_files(folder)
    }
    return Prepared(rows, texts, whole, digests)


def targets(rows: Sequence[Row], risk: Risk) -> npt.NDArray[np.int8]:
    wanted = HEAD_LABELS[risk]
    return np.fromiter((not wanted.isdisjoint(r.labels) for r in rows), dtype=np.int8)


def is_benign(rows: Sequence[Row]) -> npt.NDArray[np.bool_]:
    return np.fromiter((r.labels == {"benign"} for r in rows), dtype=np.bool_)


# -- vocabulary --------------------------------------------------------------------------------


def choose_vocabulary(
    data: Prepared, heads: Sequence[Risk], settings: TrainSettings
) -> tuple[list[str], list[str]]:
    """Word and character n-grams, ranked by chi-squared against any head (train split)."""
    fs = settings.features
    n = len(data.rows)
    results: list[list[str]] = []
    for kind in ("word", "char"):
        df: Counter[str] = Counter()
        pos: dict[Risk, Counter[str]] = {risk: Counter() for risk in heads}
        labels = [
            [risk for risk in heads if not HEAD_LABELS[risk].isdisjoint(r.labels)]
            for r in data.rows
        ]
        for text, mine in zip(data.texts, labels, strict=True):
            toks = tokens(text)
            grams = set(word_ngrams(toks, fs) if kind == "word" else char_ngrams(toks, fs))
            df.update(grams)
            for risk in mine:
                pos[risk].update(grams)
        n_pos = {risk: sum(1 for m in labels if risk in m) for risk in heads}
        scored: list[tuple[float, str]] = []
        for gram, count in df.items():
            if count < settings.min_df:
                continue
            best = 0.0
            for risk in heads:
                best = max(best, _chi2(pos[risk].get(gram, 0), count, n_pos[risk], n))
            scored.append((-best, gram))
        scored.sort()
        limit = settings.max_words if kind == "word" else settings.max_chars
        results.append(sorted(gram for _, gram in scored[:limit]))
    return results[0], results[1]


def _chi2(a: int, df: int, positives: int, total: int) -> float:
    """Chi-squared of the 2x2 table (gram present/absent x positive/negative)."""
    b = df - a
    c = positives - a
    d = total - positives - b
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if denominator == 0:
        return 0.0
    return total * (a * d - b * c) ** 2 / denominator


def matrix(vectorizer: Vectorizer, texts: Sequence[str]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float64]] = []
    for text in texts:
        idx, val = vectorizer.sparse(text)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (
            np.concatenate(values) if values else np.zeros(0),
            np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
            np.asarray(indptr),
        ),
        shape=(len(texts), vectorizer.size),
    )


# -- fitting, calibration, thresholds ----------------------------------------------------------


def fit_head(
    x: Any, y: npt.NDArray[np.int8], weights: npt.NDArray[np.float64], c: float
) -> tuple[npt.NDArray[np.float64], float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver="liblinear", max_iter=200, random_state=0)
    model.fit(x, y, sample_weight=weights)
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


def platt(margins: npt.NDArray[np.float64], y: npt.NDArray[np.int8]) -> tuple[float, float]:
    """Slope and intercept of a logistic fit of the labels on the margins (validation)."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return 1.0, 0.0
    model = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    model.fit(margins.reshape(-1, 1), y)
    slope = float(model.coef_[0][0])
    if slope <= 0:  # the head learned nothing useful: keep the raw logistic
        return 1.0, 0.0
    return slope, float(model.intercept_[0])


def gate_tau(
    outside: npt.NDArray[np.float64], ordinary_benign: npt.NDArray[np.bool_], share: float
) -> float:
    """The outside probability that leaves ``share`` of the ordinary benign messages at or
    above it (validation): the gate's tau."""
    if not ordinary_benign.any():
        return 1.0
    return float(np.quantile(outside[ordinary_benign], 1.0 - share))


def outside_probabilities(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """The outside profanity model's probability for each (normalised) text."""
    model = shipped_profanity()
    return np.fromiter((model.probability(t) for t in texts), dtype=np.float64, count=len(texts))


def gated(
    p: npt.NDArray[np.float64], outside: npt.NDArray[np.float64], tau: float, medium: float
) -> npt.NDArray[np.float64]:
    """``Head.probability``'s gate over arrays: at or above tau, at least medium."""
    out: npt.NDArray[np.float64] = np.where(outside >= tau, np.maximum(p, medium), p)
    return out


def sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    return out


@dataclass(frozen=True, slots=True)
class Thresholds:
    low: float
    medium: float
    high: float
    rule: str


FALLBACK = Thresholds(0.5, 0.7, 0.9, "fixed 0.5 / 0.7 / 0.9: too few validation positives")
MIN_VALIDATION_POSITIVES = 8


MIN_GROUP_BENIGN = 20  # a source's benign rows count in the macro average from this many


def _at_or_above(sorted_values: npt.NDArray[np.float64], t: npt.NDArray[np.float64]) -> Any:
    return len(sorted_values) - np.searchsorted(sorted_values, t, side="left")


def choose_thresholds(
    p: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    benign: npt.NDArray[np.bool_],
    settings: TrainSettings,
    groups: Sequence[str | None] | None = None,
    beta: float = 1.0,
) -> Thresholds:
    """On the validation split:

    * low: the threshold with the best F1 among those flagging at most ``low_benign_fpr`` of
      the benign messages, averaged over sources (``groups``; None = a hard-negative row,
      which counts against precision but not here), so 200 teen-chat messages weigh as much
      as 20,000 Reddit comments;
    * medium: the lowest threshold at or above low reaching ``medium_precision``;
    * high: the lowest threshold at or above medium reaching ``high_precision``.
    Unreachable precision falls back to halfway between the level below and 1.
    """
    if int(y.sum()) < MIN_VALIDATION_POSITIVES:
        return FALLBACK
    candidates = np.unique(np.round(p, 4))
    positives = int(y.sum())
    tp = _at_or_above(np.sort(p[y == 1]), candidates).astype(np.float64)
    fp = _at_or_above(np.sort(p[y == 0]), candidates).astype(np.float64)
    keys = list(groups) if groups is not None else ["all"] * len(p)
    fprs = []
    for group in sorted({k for k in keys if k is not None}):
        mask = benign & np.fromiter((k == group for k in keys), dtype=np.bool_, count=len(keys))
        count = int(mask.sum())
        if count >= MIN_GROUP_BENIGN or (groups is None and count):
            fprs.append(_at_or_above(np.sort(p[mask]), candidates) / count)
    fpr = np.mean(fprs, axis=0) if fprs else np.zeros(len(candidates))
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
    recall = tp / positives
    b2 = beta * beta
    f_beta = np.where(
        tp > 0, (1 + b2) * precision * recall / np.maximum(b2 * precision + recall, 1e-12), 0.0
    )
    allowed = fpr <= settings.low_benign_fpr
    low = float(candidates[allowed][np.argmax(f_beta[allowed])]) if allowed.any() else 0.5
    low = min(max(low, 0.05), 0.95)

    def reach(floor: float, precision_needed: float) -> float:
        ok = (candidates >= floor) & (precision >= precision_needed)
        if ok.any():
            return max(float(candidates[ok][0]), floor)
        return floor + (1.0 - floor) / 2

    medium = max(reach(low, settings.medium_precision), low)
    high = max(reach(medium, settings.high_precision), medium)
    rule = (
        f"low: best validation F{beta:g} with benign false positives "
        f"<= {settings.low_benign_fpr:.1%} (averaged over sources of ordinary talk); "
        f"medium: precision >= {settings.medium_precision}; "
        f"high: precision >= {settings.high_precision}"
    )
    return Thresholds(round(low, 4), round(medium, 4), round(high, 4), rule)


def figures(
    p: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    benign: npt.NDArray[np.bool_],
    threshold: float,
) -> dict[str, float | int | None]:
    """P/R/F1/F0.5 at ``threshold``, benign false-positive rate, ROC-AUC and PR-AUC."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    flagged = p >= threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    fn = int((~flagged & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0

    def f(beta: float) -> float:
        b2 = beta * beta
        return (1 + b2) * precision * recall / (b2 * precision + recall) if tp else 0.0

    both = 0 < int(y.sum()) < len(y)
    return {
        "support": int(y.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f(1.0), 4),
        "f0.5": round(f(0.5), 4),
        "benign_fpr": round(int((flagged & benign).sum()) / max(1, int(benign.sum())), 4),
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else None,
    }


# -- the whole run -----------------------------------------------------------------------------


@dataclass(slots=True)
class Trained:
    vectorizer: Vectorizer
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    heads: list[Risk]
    calibration: dict[Risk, tuple[float, float]]
    thresholds: dict[Risk, Thresholds]
    alone: dict[Risk, RiskLevel] = field(default_factory=dict)
    # the tau of the outside profanity gate per gated head (Head.profanity_tau)
    profanity: dict[Risk, float] = field(default_factory=dict)

    def classifier(self) -> TextClassifier:
        """The in-memory model, as :func:`classifier.load_classifier` would read it back."""
        heads = {
            risk: Head(
                risk,
                column,
                self.calibration[risk][0],
                self.calibration[risk][1],
                self.thresholds[risk].low,
                self.thresholds[risk].medium,
                self.thresholds[risk].high,
                self.alone[risk],
                self.profanity.get(risk),
            )
            for column, risk in enumerate(self.heads)
        }
        return TextClassifier(
            self.vectorizer,
            self.weights.astype(np.float64),
            self.bias.astype(np.float64),
            heads,
            {},
            profanity=shipped_profanity() if self.profanity else None,
        )

    def margins(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        product = matrix(self.vectorizer, texts) @ self.weights.astype(np.float64)
        return np.asarray(product, dtype=np.float64) + self.bias.astype(np.float64)

    def probabilities(self, texts: Sequence[str]) -> dict[Risk, npt.NDArray[np.float64]]:
        margins = self.margins(texts)
        outside = outside_probabilities(texts) if self.profanity else np.zeros(len(texts))
        out = {}
        for i, risk in enumerate(self.heads):
            p = sigmoid(self.calibration[risk][0] * margins[:, i] + self.calibration[risk][1])
            if risk in self.profanity:
                p = gated(p, outside, self.profanity[risk], self.thresholds[risk].medium)
            out[risk] = p
        return out


def sample_weights(rows: Sequence[Row], risk: Risk | None = None) -> npt.NDArray[np.float64]:
    """Each row's weight from its source's policy (for ``risk``'s head when given)."""
    if risk is None:
        return np.fromiter((policy_for(r.source).weight for r in rows), dtype=np.float64)
    return np.fromiter((policy_for(r.source).weight_for(risk) for r in rows), dtype=np.float64)


def fit(
    fit_data: Prepared,
    calibration_data: Prepared,
    settings: TrainSettings,
    progress: Progress = _quiet,
) -> Trained:
    heads = [
        risk for risk in HEAD_LABELS if int(targets(fit_data.rows, risk).sum()) >= MIN_POSITIVES
    ]
    if not heads:
        raise InputError(f"no risk has {MIN_POSITIVES} positive training rows")
    progress(f"heads: {', '.join(h.value for h in heads)}; choosing the vocabulary")
    words, chars = choose_vocabulary(fit_data, heads, settings)
    vectorizer = Vectorizer(settings.features, words, chars)
    progress(f"vocabulary: {len(words)} word and {len(chars)} character n-grams; vectorising")
    x = matrix(vectorizer, fit_data.texts)
    alone: dict[Risk, RiskLevel] = {}
    weights = np.zeros((vectorizer.size, len(heads)), dtype=np.float32)
    bias = np.zeros(len(heads), dtype=np.float32)
    for column, risk in enumerate(heads):
        y = targets(fit_data.rows, risk)
        base = sample_weights(fit_data.rows, risk)
        w = base * np.where(y == 1, settings.positive_weight, 1.0)
        progress(f"fitting {risk.value} ({int(y.sum())} positives)")
        synthetic_only = all(
            "/" in r.source
            for r, target in zip(fit_data.rows, y, strict=True)
            if target
        )
        alone[risk] = RiskLevel.HIGH if synthetic_only else RiskLevel.MEDIUM
        coef, intercept = fit_head(x, y, w, settings.c)
        weights[:, column] = coef
        bias[column] = intercept
    trained = Trained(vectorizer, weights, bias, heads, {}, {}, alone)
    progress("scoring the validation split")
    margins = trained.margins(calibration_data.texts)
    benign = is_benign(calibration_data.rows)
    ordinary = [
        None if policy_for(r.source).hard_negatives else r.source for r in calibration_data.rows
    ]
    outside = (
        outside_probabilities(calibration_data.texts)
        if settings.gated_heads() & set(heads)
        else np.zeros(len(calibration_data.texts))
    )
    ordinary_benign = benign & np.asarray([o is not None for o in ordinary], dtype=np.bool_)
    for column, risk in enumerate(heads):
        y = targets(calibration_data.rows, risk)
        slope, intercept = platt(margins[:, column], y)
        trained.calibration[risk] = (slope, intercept)
        p = sigmoid(slope * margins[:, column] + intercept)
        trained.thresholds[risk] = choose_thresholds(
            p, y, benign, settings.for_head(risk), ordinary
        )
        # the thresholds are the n-gram head's; the gate only lifts what it passes
        if risk in settings.profanity_tau:
            trained.profanity[risk] = settings.profanity_tau[risk]
        elif risk in settings.profanity_gate:
            trained.profanity[risk] = gate_tau(
                outside, ordinary_benign, settings.profanity_gate[risk]
            )
    return trained


def evaluate_trained(trained: Trained, data: Prepared) -> dict[str, dict[str, Any]]:
    if not data.rows:
        return {}
    probs = trained.probabilities(data.texts)
    benign = is_benign(data.rows)
    return {
        risk.value: figures(
            probs[risk], targets(data.rows, risk), benign, trained.thresholds[risk].low
        )
        for risk in trained.heads
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_model(
    trained: Trained,
    out: Path,
    settings: TrainSettings,
    data: Prepared,
    test_figures: dict[str, dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    words = list(trained.vectorizer.words)
    chars = list(trained.vectorizer.chars)
    for gram in words + chars:
        if "\n" in gram:  # cannot happen with the tokeniser; the vocab file is one per line
            raise InputError(f"n-gram {gram!r} holds a line break")
    (out / VOCAB).write_text("\n".join(words + chars) + "\n", encoding="utf-8")
    np.savez_compressed(out / WEIGHTS, weights=trained.weights, bias=trained.bias)
    sources: dict[str, dict[str, Any]] = {
        name: {"sha256": digest} for name, digest in sorted(data.digests.items())
    }
    for row in data.rows:
        entry = sources.setdefault(row.source, {})
        if "licence" not in entry:
            entry.update(
                licence=policy_for(row.source).licence,
                attribution=policy_for(row.source).attribution,
                weight=policy_for(row.source).weight,
                **{
                    f"{risk.value}_weight": w
                    for risk, w in sorted(policy_for(row.source).head_weights.items())
                },
                messages=0,
                labels=Counter[str](),
            )
        entry["messages"] += 1
        entry["labels"].update(row.labels)
    sources = {name: entry for name, entry in sources.items() if "licence" in entry}
    for entry in sources.values():
        entry["labels"] = dict(sorted(entry["labels"].items()))
    splits = Counter(r.split for r in data.rows)
    manifest: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "name": "kidshield-text",
        "features": {
            **trained.vectorizer.settings.to_dict(),
            "words": len(words),
            "chars": len(chars),
        },
        "training": settings.to_dict(),
        "splits": {k: splits.get(k, 0) for k in (TRAIN, VALIDATION, TEST)},
        "sources": dict(sorted(sources.items())),
        "heads": {
            risk.value: {
                "column": column,
                "labels": sorted(HEAD_LABELS[risk]),
                "calibration": {
                    "method": "platt",
                    "slope": round(trained.calibration[risk][0], 8),
                    "intercept": round(trained.calibration[risk][1], 8),
                },
                **(
                    {
                        "profanity_gate": {
                            "tau": round(trained.profanity[risk], 8),
                            "rule": "the outside profanity model (profanity.json) at or above "
                            f"tau lifts the head to medium; {settings.gate_rule(risk)}",
                        }
                    }
                    if risk in trained.profanity
                    else {}
                ),
                "thresholds": {
                    "low": trained.thresholds[risk].low,
                    "medium": trained.thresholds[risk].medium,
                    "high": trained.thresholds[risk].high,
                    "rule": trained.thresholds[risk].rule,
                },
                "alone": trained.alone[risk].label,
                "test": test_figures.get(risk.value, {}),
            }
            for column, risk in enumerate(trained.heads)
        },
        **(extra or {}),
    }
    manifest["files"] = {name: _sha256(out / name) for name in (WEIGHTS, VOCAB)}
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out / MANIFEST


def require_training_libraries() -> None:
    try:
        import scipy.sparse  # noqa: F401
        import sklearn.linear_model  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"training needs the [train] extra: pip install 'kidshield[train]' ({exc})"
        ) from None


def train(
    folders: Sequence[Path],
    out: Path,
    settings: TrainSettings | None = None,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    require_training_libraries()
    settings = settings or TrainSettings()
    data = prepare(folders, settings, progress)
    trained = fit(
        data.where(lambda r: r.split == TRAIN),
        data.where(lambda r: r.split == VALIDATION),
        settings,
        progress,
    )
    progress("measuring on the test split")
    test = evaluate_trained(trained, data.where(lambda r: r.split == TEST))
    extra: dict[str, Any] = {}
    progress("conversation model: running the tracker over the training conversations")
    fitted = fit_conversation_model(conversations(data.whole), Combiner(trained.classifier()))
    if fitted is None:
        progress(f"conversation model: fewer than {MIN_CONVERSATIONS} grooming conversations")
    else:
        model, report = fitted
        extra["conversation"] = {**model.to_dict(), "report": report}
        test["grooming_conversations"] = report["test"]
    write_model(trained, out, settings, data, test, extra)
    from kidshield.safety.text.trainwhere import train_whereabouts

    benign = [r for r in data.whole if r.labels == {"benign"} and policy_for(r.source).ship]
    where = train_whereabouts(folders, benign, out, progress)
    if where is not None:
        test["whereabouts"] = where
    return test


def model_digest(folder: Path) -> str:
    """One sha256 over the model files (to compare two trainings)."""
    from kidshield.safety.text.pii.whereabouts import MANIFEST as WHERE_MANIFEST
    from kidshield.safety.text.pii.whereabouts import WEIGHTS as WHERE_WEIGHTS

    digest = hashlib.sha256()
    for name in (MANIFEST, WEIGHTS, VOCAB, WHERE_MANIFEST, WHERE_WEIGHTS):
        if name in (MANIFEST, WEIGHTS, VOCAB) or (folder / name).is_file():
            digest.update((folder / name).read_bytes())
    return digest.hexdigest()
