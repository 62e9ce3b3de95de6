"""Self-harm answers on the self-harm sources, to compare a change's effect by half.

    PYTHONPATH=CODE python scripts/selfharm_told.py dump OUT.jsonl
    python scripts/selfharm_told.py compare BEFORE.jsonl AFTER.jsonl dev [--show]
    python scripts/selfharm_told.py compare BEFORE.jsonl AFTER.jsonl test   # counts only

``dump`` assesses (no ages) every row of the bundle's RMHD sample and counsel-chat and of
``data/text-synth/messages/self_harm*.jsonl`` and ``messages-b/self_harm_posts*.jsonl``: its
self-harm level and signpost, by the row's half (``halves.half_of`` of the text) and label
(at-risk or benign). ``compare`` counts the rows whose answer changed, per source, label and
change; ``--show`` prints DEV rows only, never TEST ones.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BUNDLE = Path("/work/shared/data/text-train")
SOURCES = ("reddit-mental-health-rmhd-sample", "counsel-chat")
SYNTH = ("messages/self_harm.jsonl", "messages/self_harm_negatives.jsonl",
         "messages-b/self_harm_posts.jsonl", "messages-b/self_harm_posts_negatives.jsonl")


def rows() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in SOURCES:
        with gzip.open(BUNDLE / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                yield name, json.loads(line)
    for rel in SYNTH:
        for line in (Path("data/text-synth") / rel).read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield rel, json.loads(line)


def dump(out: Path) -> None:
    from kidshield.safety.text import Risk, assess_message
    from kidshield.safety.text.halves import half_of

    with open(out, "w", encoding="utf-8") as f:
        for src, row in rows():
            result = assess_message(row["text"])
            found = result.finding(Risk.SELF_HARM)
            why = [s.why for s in result.signposts if s.risk is Risk.SELF_HARM]
            f.write(json.dumps({
                "src": src, "id": row["id"], "half": half_of(row["text"]),
                "risky": "self_harm" in row["labels"],
                "level": found.level.label if found else "none", "why": why,
            }) + "\n")


def compare(before: Path, after: Path, half: str, show: bool) -> None:
    def load(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
        lines = path.read_text(encoding="utf-8").splitlines()
        return {(r["src"], r["id"]): r for r in map(json.loads, lines)}

    old, new = load(before), load(after)
    counts: Counter[tuple[str, str, str]] = Counter()
    total: Counter[str] = Counter()
    for key, row in old.items():
        if row["half"] != half:
            continue
        total[key[0]] += 1
        changed = new[key]
        if (row["level"], row["why"]) != (changed["level"], changed["why"]):
            label = "at-risk" if row["risky"] else "benign"
            change = f"{row['level']}{row['why']} -> {changed['level']}{changed['why']}"
            counts[(key[0], label, change)] += 1
            if show and half == "dev":
                print("  ", key, label, change)
    print(json.dumps(total))
    for (src, label, change), n in sorted(counts.items()):
        print(f"{half} {src} {label}: {change}: {n}")


def main() -> None:
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    else:
        compare(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], "--show" in sys.argv)


if __name__ == "__main__":
    main()
