"""Judge a place gate (``pii/places.py``'s ``find_place``) on the DEV halves without refitting
the whereabouts head: the head's weights do not depend on the gate, only its threshold does.

``save`` fits trainwhere's inner leave-one-writer-out models once (about 5 minutes, one core)
and keeps their margins on every voice's DEV rows, the all-writers model's margins on the
``validation`` and ``test`` split benign messages and on the teen corpus. ``judge`` then applies
each given ``places.py`` and trainwhere's threshold rule (the benign floor a row's own margin,
``method="higher"``) and prints, per voice, where the gate opens and what the gated inner head
finds, at the refit threshold and at ``--threshold`` (the shipped one). Counts only, except
the benign ``test``-split rows flagged, printed so a reader sees what a widened gate lets in.
Written from the fifteenth session's /tmp/pii-gate-2 tools (sixteenth session, pii-gazetteer).

    PYTHONPATH=$PWD python scripts/place_gate_dev.py save /tmp/margins.pkl
    PYTHONPATH=$PWD python scripts/place_gate_dev.py judge /tmp/margins.pkl \\
        main=/tmp/main/kidshield/safety/text/pii/places.py \\
        branch=kidshield/safety/text/pii/places.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kidshield.safety.text import trainwhere as tw  # noqa: E402
from kidshield.safety.text.lexicon import load_lexicon  # noqa: E402
from kidshield.safety.text.pii.whereabouts import hashed  # noqa: E402
from kidshield.safety.text.train import policy_for  # noqa: E402
from kidshield.safety.text.trainingdata import (  # noqa: E402
    TEST,
    VALIDATION,
    is_chat_segment,
    read_folders,
    segment_messages,
)

TEEN = ROOT / "tests" / "safety" / "text" / "corpus" / "benign.txt"


def save(out: Path, bundle: Path) -> None:
    folders = [bundle, ROOT / "data" / "text-synth"]
    whole = read_folders(folders)
    benign_rows = [r for r in whole if r.labels == {"benign"} and policy_for(r.source).ship]
    voices = tw.read_voices(folders)
    benign = tw.benign_messages(benign_rows)
    inner = {}
    for held in voices:
        inner[held.name] = tw._margins(
            tw._fit([v for v in voices if v is not held], benign), held.x
        )
        print("inner", held.name, flush=True)
    model = tw._fit(voices, benign)
    norm = load_lexicon().normalizer.normalize
    msgs: list[str] = []
    rows_of: list[int] = []
    split: list[str] = []
    for number, row in enumerate(benign_rows):
        if row.split not in (VALIDATION, TEST):
            continue
        parts = (
            [m for _, m in segment_messages(row.text)] if is_chat_segment(row.text) else [row.text]
        )
        for part in parts:
            msgs.append(part[: tw.MAX_MESSAGE])
            rows_of.append(number)
            split.append(row.split)
    texts = {
        folder.name: [
            json.loads(line)["text"]
            for line in (folder / "dev.jsonl").open(encoding="utf-8")
            if line.strip()
        ]
        for folder in tw.voice_folders(folders)
    }
    teen = [
        line.strip()
        for line in TEEN.open(encoding="utf-8")
        if line.strip() and not line.startswith("#")
    ]
    saved = {
        "inner": inner,
        "voices": [(v.name, v.pii, v.where) for v in voices],
        "texts": texts,
        "msgs": msgs,
        "rows_of": rows_of,
        "split": split,
        "bm": tw._margins(model, [hashed(norm(m).text) for m in msgs]),
        "teen": teen,
        "tm": tw._margins(model, [hashed(norm(t).text) for t in teen]),
        "benign_text": {i: benign_rows[i].text for i in set(rows_of)},
    }
    with out.open("wb") as handle:
        pickle.dump(saved, handle)


def _gate(path: str, name: str) -> Callable[[str], Any]:
    spec = importlib.util.spec_from_file_location(f"gate_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.find_place  # type: ignore[no-any-return]


def judge(saved: Path, gates: list[str], shipped: float) -> None:
    with saved.open("rb") as handle:
        d = pickle.load(handle)
    split = np.array(d["split"])
    rows_of = np.array(d["rows_of"])
    for spec in gates:
        name, path = spec.split("=", 1)
        find = _gate(path, name)
        opens = {
            v: np.array([find(t) is not None for t in d["texts"][v]]) for v, _, _ in d["voices"]
        }
        scores = np.concatenate(
            [np.where(opens[v], d["inner"][v], -np.inf) for v, _, _ in d["voices"]]
        )
        where = np.concatenate([w for _, _, w in d["voices"]])
        pii = np.concatenate([p for _, p, _ in d["voices"]])
        benign_open = np.array([find(m) is not None for m in d["msgs"]])
        gated = np.where(benign_open, d["bm"], -1e9)

        def row_max(mask: Any, gated: Any = gated) -> tuple[Any, Any]:
            ids = np.unique(rows_of[mask])
            index = {r: i for i, r in enumerate(ids)}
            out = np.full(len(ids), -1e9)
            np.maximum.at(out, np.array([index[r] for r in rows_of[mask]]), gated[mask])
            return out, ids

        val, _ = row_max(split == VALIDATION)
        test, test_ids = row_max(split == TEST)
        floor = float(np.quantile(val, 1 - tw.BENIGN_CAP, method="higher"))
        f1, refit = tw.best_threshold(scores, where, pii, floor)
        teen_open = np.array([find(t) is not None for t in d["teen"]])
        print(
            f"{name}: refit threshold {refit:.3f} (floor {floor:.3f}, inner F1 {f1:.3f}); "
            f"top validation rows {np.round(np.sort(val)[-4:], 3).tolist()}; gate opens on "
            f"{benign_open.sum()} of {len(benign_open)} benign messages, teen {teen_open.sum()}"
        )
        for threshold in (refit, shipped):
            print(
                f"  at {threshold:.3f}: validation rows flagged {(val >= threshold).sum()} of "
                f"{len(val)}, test-split rows {(test >= threshold).sum()} of {len(test)}, teen "
                f"{(teen_open & (d['tm'] >= threshold)).sum()}"
            )
            for v, p, w in d["voices"]:
                sc = np.where(opens[v], d["inner"][v], -np.inf)
                print(
                    f"    {v}: gate opens on whereabouts {(opens[v] & w).sum()}/{w.sum()}, "
                    f"inner head finds whereabouts {((sc >= threshold) & w).sum()}, "
                    f"personal information {((sc >= threshold) & p).sum()}/{p.sum()}, "
                    f"flags rows without {((sc >= threshold) & ~p).sum()}"
                )
            for i in test_ids[test >= threshold]:
                print("    test-split benign:", repr(d["benign_text"][i][:150]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save")
    s.add_argument("out", type=Path)
    s.add_argument("--bundle", type=Path, default=ROOT.parent / "shared" / "data" / "text-train")
    j = sub.add_parser("judge")
    j.add_argument("saved", type=Path)
    j.add_argument("gates", nargs="+", help="name=path/to/places.py")
    j.add_argument("--threshold", type=float, default=0.042, help="the shipped threshold")
    args = parser.parse_args()
    if args.command == "save":
        save(args.out, args.bundle)
    else:
        judge(args.saved, args.gates, args.threshold)


if __name__ == "__main__":
    main()
