"""Training the conversation-level grooming model (part of ``kidshield train text``).

Conversations come from the training rows: rows sharing a ``conversation`` id with a ``turn``
(the project's synthetic conversations: grooming, sextortion and benign look-alikes), chat
segments (``userN: message`` lines, the chit-chat source; one in four is used, chosen by hash)
and other sources' conversation ids (ConvAbuse). Each is run through the conversation tracker
with the message model just trained, and each direction's features (:mod:`convmodel`) become
one example: positive for the sender whose turns carry grooming stages in a conversation
labelled grooming, negative otherwise. Snapshots at half-way and at the end teach the model to
flag before the end. Calibration and thresholds use the validation conversations (a
conversation counts as flagged when any direction is); figures come from the test ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kidshield.errors import KidshieldError
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import ConversationTracker
from kidshield.safety.text.convmodel import FEATURES, TRAINED, ConversationModel
from kidshield.safety.text.model import AgeBand
from kidshield.safety.text.state import Message
from kidshield.safety.text.trainingdata import TEST, TRAIN, VALIDATION, Row, segment_messages

MIN_CONVERSATIONS = 10  # grooming conversations needed in the train split
C = 0.3  # few positive conversations: keep the weights small
SEGMENT_SHARE = 4  # one chat segment in this many is used


@dataclass(slots=True)
class Conversation:
    source: str
    id: str
    split: str
    grooming: bool
    messages: list[Message] = field(default_factory=list)
    ages: dict[str, int | None] = field(default_factory=dict)
    groomers: set[str] = field(default_factory=set)
    # every risk the conversation is labelled with ("benign" alone when it has none): a
    # sextortion scam that is not grooming is not a benign conversation either
    labels: frozenset[str] = frozenset()

    @property
    def benign(self) -> bool:
        return not self.grooming and self.labels <= {"benign"}


def _hash_share(key: str, share: int) -> bool:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % share == 0


def conversations(rows: Sequence[Row]) -> list[Conversation]:
    grouped: dict[tuple[str, str], list[Row]] = {}
    out: list[Conversation] = []
    for row in rows:
        if row.is_segment:
            if _hash_share(f"{row.source}\x00{row.id}", SEGMENT_SHARE):
                conv = Conversation(row.source, row.id, row.split, "grooming" in row.labels)
                conv.labels = frozenset(row.labels)
                conv.messages = [Message(s, t) for s, t in segment_messages(row.text)]
                out.append(conv)
        elif row.conversation is not None:
            grouped.setdefault((row.source, row.conversation), []).append(row)
    for (source, cid), members in sorted(grouped.items()):
        members.sort(key=lambda r: (int(r.extra.get("turn") or 0), r.id))
        labels = set()
        for r in members:
            labels |= set(r.extra.get("conversation_labels") or ()) | set(r.labels)
        conv = Conversation(source, cid, members[0].split, "grooming" in labels)
        conv.labels = frozenset(labels)
        for r in members:
            sender = str(r.extra.get("sender") or "user")
            recipient = r.extra.get("recipient")
            at = r.extra.get("at")
            try:
                message = Message.from_dict(
                    {"sender": sender, "text": r.text, "at": at, "recipient": recipient},
                    r.where,
                )
            except KidshieldError:  # a bad time in one row: keep the text, drop the time
                message = Message(sender, r.text)
            conv.messages.append(message)
            for pid, key in ((sender, "sender_age"), (recipient, "recipient_age")):
                if isinstance(pid, str) and pid not in conv.ages:
                    age = r.extra.get(key)
                    conv.ages[pid] = age if isinstance(age, int) else None
            if conv.grooming and r.extra.get("stage"):
                conv.groomers.add(sender)
        out.append(conv)
    return out


def _participants(conv: Conversation) -> dict[str, AgeBand | int | None]:
    return {pid: age for pid, age in conv.ages.items()}


def examples(
    convs: Sequence[Conversation],
    engine: Combiner,
    snapshots: Sequence[float] = (0.5, 1.0),
    hide_ages: bool = False,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], list[int]]:
    """Feature rows, labels, and the index of the conversation each row comes from.

    ``hide_ages`` adds every conversation that has ages or times a second time without them
    (and without recipients): the project's conversations carry them and the chat segments do
    not, and without this the model would learn "ages given" or "hours long" as a sign of
    grooming."""
    rows: list[list[float]] = []
    labels: list[int] = []
    owner: list[int] = []
    variants = [(n, c, _participants(c), False) for n, c in enumerate(convs)]
    if hide_ages:
        variants += [
            (n, c, {}, True)
            for n, c in enumerate(convs)
            if c.ages or any(m.at is not None for m in c.messages)
        ]
    for number, conv, participants, bare in variants:
        tracker = ConversationTracker(participants=participants, engine=engine)
        cut_points = sorted({max(1, round(len(conv.messages) * s)) for s in snapshots})
        for i, message in enumerate(conv.messages, start=1):
            tracker.add(Message(message.sender, message.text) if bare else message)
            if i not in cut_points:
                continue
            for pair in tracker.state.pairs:
                rows.append(tracker.pair_features(pair))
                sender = pair.partition(">")[0]
                labels.append(int(conv.grooming and sender in conv.groomers))
                owner.append(number)
    if not rows:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=np.int8), []
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.int8), owner


def by_conversation(
    p: npt.NDArray[np.float64], owner: Sequence[int], count: int
) -> npt.NDArray[np.float64]:
    """Each conversation's highest direction probability (0 when it has none)."""
    best = np.zeros(count, dtype=np.float64)
    for value, number in zip(p, owner, strict=True):
        best[number] = max(best[number], value)
    return best


def fit_conversation_model(
    convs: Sequence[Conversation],
    engine: Combiner,
    low_benign_fpr: float = 0.02,
    features: Sequence[str] = TRAINED,
) -> tuple[ConversationModel, dict[str, Any]] | None:
    """Fit, calibrate and measure; None when there are too few grooming conversations.
    ``features``: which of ``FEATURES`` the model uses."""
    from sklearn.linear_model import LogisticRegression

    from kidshield.safety.text.train import (
        TrainSettings,
        choose_thresholds,
        figures,
        platt,
        sigmoid,
    )

    parts = {split: [c for c in convs if c.split == split] for split in (TRAIN, VALIDATION, TEST)}
    if sum(c.grooming for c in parts[TRAIN]) < MIN_CONVERSATIONS:
        return None
    columns = [FEATURES.index(name) for name in features]
    x, y, _owner = examples(parts[TRAIN], engine, hide_ages=True)
    x = x[:, columns]
    # scale each feature by its largest value, not by its spread: most are rare (zero in
    # nearly every chat segment), and dividing by a tiny spread made one stage hit decisive
    mean = np.zeros(x.shape[1])
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=0)
    model.fit((x - mean) / scale, y)
    weights = tuple(float(w) for w in model.coef_[0])
    bias = float(model.intercept_[0])

    def margins(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        chosen = rows[:, columns] if len(rows) else np.zeros((0, len(columns)))
        out: npt.NDArray[np.float64] = ((chosen - mean) / scale) @ np.asarray(weights) + bias
        return out

    xv, yv, owner_v = examples(parts[VALIDATION], engine, snapshots=(1.0,))
    slope, intercept = platt(margins(xv), yv) if len(yv) else (1.0, 0.0)
    pv = by_conversation(sigmoid(slope * margins(xv) + intercept), owner_v, len(parts[VALIDATION]))
    yv_conv = np.asarray([c.grooming for c in parts[VALIDATION]], dtype=np.int8)
    settings = TrainSettings(low_benign_fpr=low_benign_fpr)
    # F0.5: a grooming alert on a whole conversation goes to a person; precision first
    thresholds = choose_thresholds(
        pv, yv_conv, yv_conv == 0, settings, [c.source for c in parts[VALIDATION]], beta=0.5
    )
    # few validation conversations reach any precision at once: keep the levels apart (medium
    # at least a third of the way from low to 1, high two thirds) so they still mean something
    low = thresholds.low
    medium = max(thresholds.medium, round(low + (1 - low) / 3, 4))
    high = max(thresholds.high, round(low + 2 * (1 - low) / 3, 4))
    conv_model = ConversationModel(
        tuple(features),
        weights,
        bias,
        tuple(float(m) for m in mean),
        tuple(float(s) for s in scale),
        slope,
        intercept,
        low,
        medium,
        high,
    )
    xt, _yt, owner_t = examples(parts[TEST], engine, snapshots=(1.0,))
    pt = by_conversation(sigmoid(slope * margins(xt) + intercept), owner_t, len(parts[TEST]))
    yt_conv = np.asarray([c.grooming for c in parts[TEST]], dtype=np.int8)
    report = {
        "conversations": {
            split: {"all": len(items), "grooming": sum(c.grooming for c in items)}
            for split, items in parts.items()
        },
        "threshold_rule": thresholds.rule.replace("messages", "conversations")
        + "; medium and high at least 1/3 and 2/3 of the way from low to 1",
        "test": figures(pt, yt_conv, yt_conv == 0, thresholds.low) if len(pt) else {},
    }
    return conv_model, report
