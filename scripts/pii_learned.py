"""A learned whereabouts head beside the personal-information rules, measured leave one voice
out (issue 12, item 5; docs/safety-log.md, "A learned whereabouts head").

The question: the rules written from the personal-information writers' DEV halves carry poorly
to unseen wording. Does a hashed word + character n-gram linear head, trained on *other*
writers' rows, find the whereabouts of a writer it never saw?

Per voice X (the seven ``data/text-synth/personal-info*/`` writers):

* train on every other voice's DEV half: positives are rows whose ``kinds`` say where to find
  the writer (``WHERE``), negatives the voices' rows without personal information, plus the
  benign rows of the bundle and of the project's own sets (their ``train`` split); rows with
  other personal information (phones, e-mails, ...) are left out of training;
* choose the threshold on the training voices only: an inner leave-one-voice-out over them
  gives every training row a score from a model that never saw its writer; the threshold is
  the one with the best F1 of "rules OR model" over those rows, among those flagging at most
  ``--benign-cap`` of the benign rows of the ``validation`` split (a chat segment flagged when
  any of its messages is);
* score X's DEV half: recall and precision of the rules alone and of rules OR model.

Then the benign cost of the all-voices model (every voice's DEV half; its threshold chosen the
same way, inner leave-one-voice-out over all seven) on the benign rows of every bundle source
and project set, their ``test`` split and all rows, the teen corpus of the tests, and which of
its flags the rules do not already raise.

Also printed, post hoc (docs/safety-log.md says why): the model alone at its own threshold (best
F1 on whereabouts rows against rows without personal information, chosen the same way), and,
when ``CACHE_DIR/oldrules-X.json`` is there, the rules that never saw voice X and those rules
OR the model. ``--alone`` counts the benign cost at the model's own threshold.

Needs the ``[train]`` extra (scikit-learn). TEST halves are never read here unless ``--test``
is given, which counts them once with the all-voices model and prints only counts; do not give
it unless a declared bar has held.

    PYTHONPATH=$PWD python scripts/pii_learned.py --voices deg            # the declared measure
    PYTHONPATH=$PWD python scripts/pii_learned.py --voices deg --alone    # and the cost alone
    # the rules before a voice was read (d 682c63fc, e 7f7f0732, g 049e5760): a git archive
    # of that commit with this script copied into its scripts/ (it imports its own tree)
    git archive 682c63fc | tar -x -C /tmp/rules-d && cp scripts/pii_learned.py /tmp/rules-d/scripts/
    cd /tmp/rules-d && python scripts/pii_learned.py --rules-of d \
        --out /tmp/pii-learned/oldrules-d.json
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.pii.whereabouts import Vector, hashed
from kidshield.safety.text.train import policy_for
from kidshield.safety.text.trainingdata import (
    SEGMENT_MESSAGE_SHARE,
    TEST,
    TRAIN,
    VALIDATION,
    is_chat_segment,
    read_folders,
    segment_messages,
)
from kidshield.safety.text.trainwhere import best_threshold, csr

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT / "data" / "text-synth"
VOICES = {
    "a": SYNTH / "personal-info",
    "b": SYNTH / "personal-info-b",
    "c": SYNTH / "personal-info-c",
    "d": SYNTH / "personal-info-d",
    "e": SYNTH / "personal-info-e",
    "f": SYNTH / "personal-info-f",
    "g": SYNTH / "personal-info-g",
}
# the kinds that say where to find the writer: now, at a routine, at school, at home
WHERE = frozenset({"live_location", "location", "school", "age_location", "address"})
TEEN = ROOT / "tests" / "safety" / "text" / "corpus" / "benign.txt"
# declared before the first run (docs/safety-log.md): weights, regularisation, the benign cap
POSITIVE_WEIGHT = 10.0
VOICE_NEGATIVE_WEIGHT = 3.0
C = 4.0

def rules_flag(text: str) -> bool:
    segment = is_chat_segment(text)
    levels, _ = _score_row(text, as_segment=segment, sender=None, recipient=None, language=None)
    return levels.get(Risk.PERSONAL_INFO, RiskLevel.NONE) >= RiskLevel.LOW


def build(half: str, only: str = "abcdefg") -> dict[str, Any]:
    """Voice rows of one half with features and the rules' answers, and the benign rows."""
    normalise = load_lexicon().normalizer.normalize
    voices: dict[str, dict[str, Any]] = {}
    for voice, folder in VOICES.items():
        if voice not in only:
            continue
        name = "heldout.jsonl" if voice == "a" and half == "test" else f"{half}.jsonl"
        rows = [json.loads(line) for line in (folder / name).open(encoding="utf-8")]
        texts = [str(r["text"]) for r in rows]
        voices[voice] = {
            "ids": [r["id"] for r in rows],
            "text": texts,
            "pii": np.array(["personal_info" in r.get("labels", []) for r in rows]),
            "where": np.array([bool(WHERE & set(r.get("kinds", []))) for r in rows]),
            "rules": np.array([rules_flag(t) for t in texts]),
            "x": [hashed(normalise(t).text) for t in texts],
        }
        print(f"voice {voice} {half}: {len(rows)} rows", flush=True)
    if half != "dev":
        return {"voices": voices}
    benign = [
        r
        for r in read_folders([ROOT.parent.parent / "shared" / "data" / "text-train", SYNTH])
        if r.labels == {"benign"} and policy_for(r.source).ship
    ]
    # a row is its messages (a chat segment is flagged when one of them is)
    groups: list[int] = []
    vectors: list[Vector] = []
    for number, row in enumerate(benign):
        parts = [m for _, m in segment_messages(row.text)] if row.is_segment else [row.text]
        for part in parts:
            groups.append(number)
            vectors.append(hashed(normalise(part[:2000]).text))
    teen = [
        line.strip()
        for line in TEEN.open(encoding="utf-8")
        if line.strip() and not line.startswith("#")
    ]
    print(f"benign: {len(benign)} rows, {len(vectors)} messages; teen {len(teen)}", flush=True)
    return {
        "voices": voices,
        "benign_source": [r.source for r in benign],
        "benign_split": [r.split for r in benign],
        "benign_text": [r.text for r in benign],
        "benign_group": np.array(groups),
        "benign_x": vectors,
        "teen": teen,
        "teen_x": [hashed(normalise(t).text) for t in teen],
    }


def fit(data: dict[str, Any], voices: Sequence[str], benign_train: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    xs: list[Vector] = []
    ys: list[int] = []
    ws: list[float] = []
    for voice in voices:
        v = data["voices"][voice]
        for vec, pii, where in zip(v["x"], v["pii"], v["where"], strict=True):
            if where or not pii:
                xs.append(vec)
                ys.append(1 if where else 0)
                ws.append(POSITIVE_WEIGHT if where else VOICE_NEGATIVE_WEIGHT)
    n_benign = len(benign_train)
    x = csr(xs + [data["benign_x"][i] for i in benign_train])
    y = np.array(ys + [0] * n_benign)
    w = np.array(ws + [1.0] * n_benign)
    model = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=1000, random_state=0)
    began = time.time()
    model.fit(x, y, sample_weight=w)
    print(f"  fit on {','.join(voices)}: {time.time() - began:.0f}s", flush=True)
    return model


def margins(model: Any, vectors: Sequence[Vector]) -> npt.NDArray[np.float64]:
    return np.asarray(model.decision_function(csr(vectors)), dtype=np.float64)


def row_max(scores: npt.NDArray[np.float64], groups: npt.NDArray[np.int64], n: int) -> Any:
    out = np.full(n, -np.inf)
    np.maximum.at(out, groups, scores)
    return out


def choose(
    data: dict[str, Any], voices: Sequence[str], benign_train: Any, val_rows: Any, cap: float
) -> tuple[float, dict[str, Any]]:
    """The threshold from an inner leave-one-voice-out over ``voices`` and the benign cap on
    the validation split's rows (scored by the model of all of ``voices``).

    The declared threshold is the best F1 of "rules OR model" over all personal-information
    rows; ``info["alone"]`` is the model's own (post hoc, see the docs): the best F1 of the
    model alone on whereabouts rows against rows without personal information."""
    inner_scores, rules, pii, where = [], [], [], []
    for held in voices:
        model = fit(data, [v for v in voices if v != held], benign_train)
        v = data["voices"][held]
        inner_scores.append(margins(model, v["x"]))
        rules.append(v["rules"])
        pii.append(v["pii"])
        where.append(v["where"])
    s, r, p = np.concatenate(inner_scores), np.concatenate(rules), np.concatenate(pii)
    w = np.concatenate(where)
    outer = fit(data, voices, benign_train)
    vb = benign_scores(data, outer)[val_rows]
    floor = float(np.quantile(vb, 1.0 - cap)) if len(vb) else -np.inf
    best = (-1.0, math.inf)
    for t in np.unique(np.round(s, 3)):
        if t <= floor:
            continue
        flag = r | (s >= t)
        tp = int((flag & p).sum())
        fp = int((flag & ~p).sum())
        f1 = 2 * tp / max(2 * tp + fp + int((~flag & p).sum()), 1)
        if f1 > best[0]:
            best = (f1, float(t))
    threshold = best[1] if best[0] >= 0 else floor
    alone = best_threshold(s, w, p, floor)  # the head alone, on whereabouts
    return threshold, {
        "model": outer,
        "floor": floor,
        "inner_f1": best[0],
        "alone": alone[1],
        "alone_f1": alone[0],
    }


def benign_scores(data: dict[str, Any], model: Any) -> Any:
    cached = data.setdefault("_benign_scores", {})
    key = id(model)
    if key not in cached:
        m = margins(model, data["benign_x"])
        cached.clear()
        cached[key] = row_max(m, data["benign_group"], len(data["benign_source"]))
    return cached[key]


def recall_precision(flag: Any, pii: Any) -> tuple[int, int, int]:
    return int((flag & pii).sum()), int(pii.sum()), int((flag & ~pii).sum())


GATES = ("none", "place", "place-lower")


def gate_arrays(data: dict[str, Any], wanted: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per gate, which voice rows, benign messages and teen lines name a findable place
    (``scripts/place_gate.py``; "place-lower" is the same rule blind to capitals)."""
    from place_gate import names_place

    def place(text: str) -> bool:
        return names_place(text)

    def lower(text: str) -> bool:
        return names_place(text, case_blind=True)

    tests = {"place": place, "place-lower": lower}
    voice_texts = {}
    for voice, folder in VOICES.items():
        rows = [json.loads(line) for line in (folder / "dev.jsonl").open(encoding="utf-8")]
        if [r["id"] for r in rows] != data["voices"][voice]["ids"]:
            raise SystemExit(f"{folder}/dev.jsonl changed since the cache was built")
        voice_texts[voice] = [str(r["text"]) for r in rows]
    messages: list[str] = []
    for text in data["benign_text"]:
        parts = [m for _, m in segment_messages(text)] if is_chat_segment(text) else [text]
        messages.extend(part[:2000] for part in parts)
    if len(messages) != len(data["benign_group"]):
        raise SystemExit("benign messages do not line up with the cache")
    tests = {name: test for name, test in tests.items() if name in wanted}
    out: dict[str, dict[str, Any]] = {
        "none": {
            "voices": {v: np.ones(len(t), bool) for v, t in voice_texts.items()},
            "benign": np.ones(len(messages), bool),
            "teen": np.ones(len(data["teen"]), bool),
        }
    }
    for name, test in tests.items():
        out[name] = {
            "voices": {v: np.array([test(x) for x in t], bool) for v, t in voice_texts.items()},
            "benign": np.array([test(m) for m in messages], bool),
            "teen": np.array([test(x) for x in data["teen"]], bool),
        }
    if "none" not in wanted:
        del out["none"]
    return out


def gated_thresholds(
    data: dict[str, Any],
    gates: dict[str, dict[str, Any]],
    voices: Sequence[str],
    benign_train: Any,
    val_rows: Any,
    cap: float,
) -> tuple[Any, dict[str, tuple[float, float, float]]]:
    """The all-``voices`` model and, per gate, (threshold, benign floor, inner F1): the best
    F1 of the gated model alone on whereabouts rows against rows without personal information,
    over scores from an inner leave-one-voice-out, above the gated benign cap's floor."""
    inner = {}
    for held in voices:
        model = fit(data, [v for v in voices if v != held], benign_train)
        inner[held] = margins(model, data["voices"][held]["x"])
    outer = fit(data, voices, benign_train)
    benign_msg = margins(outer, data["benign_x"])
    data["_outer_benign"] = benign_msg
    n_rows = len(data["benign_source"])
    out = {}
    for name, g in gates.items():
        s = np.concatenate([np.where(g["voices"][v], inner[v], -np.inf) for v in voices])
        w = np.concatenate([data["voices"][v]["where"] for v in voices])
        p = np.concatenate([data["voices"][v]["pii"] for v in voices])
        rows = row_max(np.where(g["benign"], benign_msg, -1e9), data["benign_group"], n_rows)
        floor = float(np.quantile(rows[val_rows], 1.0 - cap))
        best = best_threshold(s, w, p, floor)
        out[name] = (best[1], floor, best[0])
    return outer, out


def gated_main(
    data: dict[str, Any], args: argparse.Namespace, benign_train: Any, val_rows: Any
) -> None:
    """The gated experiment (docs/safety-log.md, "gated by a named place")."""
    began = time.time()
    gates = gate_arrays(data, args.gates.split(","))
    print(f"gates ready in {time.time() - began:.0f}s", flush=True)
    for name, g in gates.items():
        where = sum(int((g["voices"][v] & data["voices"][v]["where"]).sum()) for v in VOICES)
        total = sum(int(data["voices"][v]["where"].sum()) for v in VOICES)
        rows = row_max(g["benign"].astype(float), data["benign_group"], len(data["benign_source"]))
        print(
            f"gate {name}: opens on {where}/{total} whereabouts rows of all voices, "
            f"{int((rows > 0).sum())} of {len(rows)} benign rows, "
            f"{int(g['teen'].sum())} of {len(g['teen'])} teen lines"
        )
    everyone = sorted(VOICES)
    gains: dict[str, list[float]] = {name: [] for name in gates}
    if not args.skip_loso:
        for held in args.voices:
            train_voices = [v for v in everyone if v != held]
            model, chosen = gated_thresholds(
                data, gates, train_voices, benign_train, val_rows, args.benign_cap
            )
            v = data["voices"][held]
            s = margins(model, v["x"])
            old_path = args.cache.parent / f"oldrules-{held}.json"
            old = None
            if old_path.is_file():
                before = json.loads(old_path.read_text())
                old = np.array([before[i] for i in v["ids"]])
            for name, (t, floor, f1) in chosen.items():
                a = gates[name]["voices"][held] & (s >= t)
                neg = ~v["pii"]
                line = (
                    f"{held} {name}: t={t:.3f} floor={floor:.3f} inner F1 {f1:.3f}; model "
                    f"whereabouts {int((a & v['where']).sum())}/{int(v['where'].sum())}, "
                    f"FP {int((a & neg).sum())}/{int(neg.sum())}"
                )
                tp0, n, _ = recall_precision(v["rules"], v["pii"])
                tp1, _, fp1 = recall_precision(v["rules"] | a, v["pii"])
                line += f"; today's rules {tp0}/{n} -> OR {tp1}/{n} FP {fp1}"
                if old is not None:
                    tp0, n, fp0 = recall_precision(old, v["pii"])
                    tp1, _, fp1 = recall_precision(old | a, v["pii"])
                    gains[name].append((tp1 - tp0) / n)
                    line += (
                        f"; earlier rules {tp0}/{n} {tp0 / n:.3f} FP {fp0} -> OR "
                        f"{tp1}/{n} {tp1 / n:.3f} FP {fp1} ({(tp1 - tp0) / n:+.3f})"
                    )
                print(line, flush=True)
        for name, got in gains.items():
            if got:
                print(f"mean gain over the earlier rules, {name}: {sum(got) / len(got):+.3f}")
    model, chosen = gated_thresholds(data, gates, everyone, benign_train, val_rows, args.benign_cap)
    benign_msg = data["_outer_benign"]
    sources = np.array(data["benign_source"])
    splits = np.array(data["benign_split"])
    teen_scores = margins(model, data["teen_x"])
    n_rows = len(sources)
    for name, (t, floor, f1) in chosen.items():
        g = gates[name]
        rows = row_max(np.where(g["benign"], benign_msg, -1e9), data["benign_group"], n_rows)
        flagged = rows >= t
        added = [i for i in np.flatnonzero(flagged) if not rules_flag(data["benign_text"][i])]
        test_rows = int((flagged & (splits == TEST)).sum())
        print(
            f"all voices, {name}: t={t:.3f} floor={floor:.3f} inner F1 {f1:.3f}; benign rows "
            f"flagged {int(flagged.sum())} of {n_rows} (test split {test_rows} of "
            f"{int((splits == TEST).sum())}), added to the rules' {len(added)} "
            f"({100 * len(added) / n_rows:.3f} %)"
        )
        for source, count in sorted(Counter(sources[added]).items()):
            print(f"  added {source}: {count}")
        teen = g["teen"] & (teen_scores >= t)
        teen_added = [i for i in np.flatnonzero(teen) if not rules_flag(data["teen"][i])]
        print(f"  teen corpus: flags {int(teen.sum())} of {len(teen)}, adds {len(teen_added)}")
        for i in teen_added:
            print(f"    teen: {data['teen'][i]}")
        if args.show:
            for i in added[: args.show]:
                print(f"    benign [{sources[i]}]: {data['benign_text'][i][:160]!r}")
        unseen = splits == TEST
        n_added_test = sum(1 for i in added if unseen[i])
        print(
            f"  added on the benign `test` split (never trained on, never set a threshold): "
            f"{n_added_test} of {int(unseen.sum())} ({100 * n_added_test / unseen.sum():.3f} %)"
        )
        if args.save and name == "place":
            args.save.parent.mkdir(parents=True, exist_ok=True)
            coef = np.asarray(model.coef_[0], dtype=np.float32)
            np.savez_compressed(
                args.save, coef=coef, bias=np.float32(model.intercept_[0]), threshold=t
            )
            print(f"  saved {args.save}")
        if args.test and name == "place":
            count_test_gated(model, t, args.voices)


def count_test_gated(model: Any, threshold: float, voices: str) -> None:
    """Count the TEST halves once: today's rules, and today's rules OR the gated head."""
    from place_gate import names_place

    test = build("test", voices)
    gains = []
    for voice, v in test["voices"].items():
        gate = np.array([names_place(t) for t in v["text"]], bool)
        head = gate & (margins(model, v["x"]) >= threshold)
        both = v["rules"] | head
        tp0, n, fp0 = recall_precision(v["rules"], v["pii"])
        tp1, _, fp1 = recall_precision(both, v["pii"])
        gains.append((tp1 - tp0) / n)
        where = int(v["where"].sum())
        print(
            f"TEST {voice}: {len(v['pii'])} rows, {n} personal information, {where} whereabouts;"
            f" gate opens on {int(gate.sum())}, head flags {int(head.sum())}"
            f" ({int((head & v['pii']).sum())} with personal information);"
            f" rules R {tp0}/{n} {tp0 / n:.3f} P {tp0 / max(tp0 + fp0, 1):.3f} (FP {fp0});"
            f" rules OR head R {tp1}/{n} {tp1 / n:.3f} P {tp1 / max(tp1 + fp1, 1):.3f}"
            f" (FP {fp1}); gain {(tp1 - tp0) / n:+.3f}",
            flush=True,
        )
    print(f"TEST mean recall gain over {voices}: {sum(gains) / len(gains):+.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/pii-learned/cache.pkl"))
    parser.add_argument("--benign-cap", type=float, default=0.0005)
    parser.add_argument("--benign", type=int, default=40_000, help="benign training messages")
    parser.add_argument("--voices", default="abcdefg", help="voices to leave out in turn")
    parser.add_argument("--save", type=Path, help="write the all-voices model here (pickle)")
    parser.add_argument("--test", action="store_true", help="count the TEST halves once")
    parser.add_argument(
        "--alone", action="store_true", help="benign cost and TEST at the model-alone threshold"
    )
    parser.add_argument("--skip-loso", action="store_true")
    parser.add_argument("--rules-of", help="write the importable rules' flags of this voice")
    parser.add_argument("--out", type=Path, help="where --rules-of writes (JSON, id -> flag)")
    parser.add_argument(
        "--gated", action="store_true", help="the model only where a named place is (round two)"
    )
    parser.add_argument(
        "--gates", default="none,place,place-lower", help="with --gated: the gates to measure"
    )
    parser.add_argument("--show", type=int, default=0, help="with --gated: print N benign rows")
    args = parser.parse_args()
    if args.rules_of:
        path = VOICES[args.rules_of] / "dev.jsonl"
        rows = [json.loads(line) for line in path.open(encoding="utf-8")]
        flags = {r["id"]: rules_flag(str(r["text"])) for r in rows}
        args.out.write_text(json.dumps(flags))
        print(f"{args.rules_of}: {sum(flags.values())} of {len(flags)} DEV rows flagged")
        return 0
    started = time.time()
    if args.cache.is_file():
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = build("dev")
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(data))
    splits = np.array(data["benign_split"])
    msg_split = splits[data["benign_group"]]
    # one chat-segment message in SEGMENT_MESSAGE_SHARE, as the message heads are trained
    segment = np.array([is_chat_segment(t) for t in data["benign_text"]])[data["benign_group"]]
    keep = np.array(
        [zlib.crc32(str(i).encode()) % SEGMENT_MESSAGE_SHARE == 0 for i in range(len(msg_split))]
    )
    benign_train = np.flatnonzero((msg_split == TRAIN) & (~segment | keep))
    # a fixed sample of them (seed 0): the folds are many and the machine shared
    benign_train = np.sort(
        np.random.default_rng(0).choice(
            benign_train, min(args.benign, len(benign_train)), replace=False
        )
    )
    val_rows = splits == VALIDATION
    print(f"ready in {time.time() - started:.0f}s; {len(benign_train)} benign training messages")
    if args.gated:
        gated_main(data, args, benign_train, val_rows)
        print(f"done in {time.time() - started:.0f}s")
        return 0
    everyone = sorted(VOICES)
    if not args.skip_loso:
        print("voice | rules R (DEV) | rules OR model R | gain | FP rules -> OR | where R")
        gains = {}
        for held in args.voices:
            train_voices = [v for v in everyone if v != held]
            t, info = choose(data, train_voices, benign_train, val_rows, args.benign_cap)
            v = data["voices"][held]
            s = margins(info["model"], v["x"])
            both = v["rules"] | (s >= t)
            tp0, n, fp0 = recall_precision(v["rules"], v["pii"])
            tp1, _, fp1 = recall_precision(both, v["pii"])
            w0 = int((v["rules"] & v["where"]).sum())
            w1 = int((both & v["where"]).sum())
            gains[held] = (tp1 - tp0) / n
            a = s >= info["alone"]
            neg = ~v["pii"]
            line = (
                f"  model alone (t={info['alone']:.3f}, inner F1 {info['alone_f1']:.3f}): "
                f"whereabouts {int((a & v['where']).sum())}/{int(v['where'].sum())}, "
                f"rows without personal information flagged {int((a & neg).sum())}/"
                f"{int(neg.sum())}"
            )
            old_rules = args.cache.parent / f"oldrules-{held}.json"
            if old_rules.is_file():
                before = json.loads(old_rules.read_text())
                o = np.array([before[i] for i in v["ids"]])
                for name, flag in (("rules that never saw it", o), ("  OR model alone", o | a)):
                    tp, n, fp = recall_precision(flag, v["pii"])
                    wt = int((flag & v["where"]).sum())
                    line += f"\n  {name}: R {tp}/{n} {tp / n:.3f}, whereabouts {wt}, FP {fp}"
            print(line, flush=True)
            print(
                f"{held} | {tp0}/{n} {tp0 / n:.3f} | {tp1}/{n} {tp1 / n:.3f} | "
                f"{(tp1 - tp0) / n:+.3f} | {fp0} -> {fp1} | {w0} -> {w1} of "
                f"{int(v['where'].sum())} | t={t:.3f} floor={info['floor']:.3f}",
                flush=True,
            )
        deg = [gains[v] for v in "deg" if v in gains]
        if deg:
            print(f"mean gain on d, e, g: {sum(deg) / len(deg):+.3f}")
    t, info = choose(data, everyone, benign_train, val_rows, args.benign_cap)
    model = info["model"]
    print(
        f"all voices: threshold {t:.3f} (benign floor {info['floor']:.3f}); "
        f"model alone {info['alone']:.3f}"
    )
    if args.alone:
        t = info["alone"]
    bs = benign_scores(data, model)
    flagged = bs >= t
    sources = np.array(data["benign_source"])
    added = 0
    for part, mask in (("test split", splits == TEST), ("all rows", np.ones(len(bs), bool))):
        print(f"benign {part}: model flags {int((flagged & mask).sum())} of {int(mask.sum())}")
    by_source: Counter[str] = Counter(sources[flagged])
    totals: Counter[str] = Counter(data["benign_source"])
    for source, count in sorted(by_source.items()):
        print(f"  {source}: {count} of {totals[source]}")
    for i in np.flatnonzero(flagged):
        if not rules_flag(data["benign_text"][i]):
            added += 1
    print(f"benign rows the model adds to the rules' flags: {added} of {len(bs)}")
    teen = margins(model, data["teen_x"]) >= t
    teen_added = sum(1 for i in np.flatnonzero(teen) if not rules_flag(data["teen"][i]))
    print(f"teen corpus: model flags {int(teen.sum())} of {len(teen)}, adds {teen_added}")
    for i in np.flatnonzero(teen):
        print(f"  teen: {data['teen'][i]}")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        coef = np.asarray(model.coef_[0], dtype=np.float32)
        np.savez_compressed(args.save, coef=coef, bias=model.intercept_, threshold=t)
        print(f"saved {args.save}")
    if args.test:
        test = build("test")
        for voice in everyone:
            v = test["voices"][voice]
            both = v["rules"] | (margins(model, v["x"]) >= t)
            tp0, n, fp0 = recall_precision(v["rules"], v["pii"])
            tp1, _, fp1 = recall_precision(both, v["pii"])
            print(f"TEST {voice}: rules {tp0}/{n} FP {fp0}; rules OR model {tp1}/{n} FP {fp1}")
    print(f"done in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
