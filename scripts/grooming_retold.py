"""Grooming and sextortion answers on the synthetic conversations, to compare a change by half.

    PYTHONPATH=CODE python scripts/grooming_retold.py dump OUT.jsonl
    python scripts/grooming_retold.py compare BEFORE.jsonl AFTER.jsonl dev [--show]
    python scripts/grooming_retold.py compare BEFORE.jsonl AFTER.jsonl test   # counts only

``dump`` runs every synthetic conversation (``data/text-synth/conversations*/``, both writers)
through the tracker with its writers' ages, as ``scripts/sextortion_retold.py`` does: per
conversation its grooming and sextortion levels and top level, and per message its grooming
level and grooming signpost. The half is the conversation id's (``halves.half_of``).
``compare`` counts, per folder and label, the conversations whose answer changed and how;
``--show`` prints DEV conversations only (with the messages whose answer changed), never TEST.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SYNTH = Path("data/text-synth")


def rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def dump(out: Path) -> None:
    from kidshield.safety.text import assess_conversation
    from kidshield.safety.text.halves import half_of
    from kidshield.safety.text.model import Risk

    def level(findings: Any, risk: Risk) -> str:
        found = next((f for f in findings if f.risk is risk), None)
        return found.level.label if found else "none"

    conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(SYNTH.glob("conversations*/*.jsonl")):
        for row in rows(path):
            conversations[row["conversation"]].append({**row, "file": path.parent.name})
    with open(out, "w", encoding="utf-8") as sink:
        for cid, messages in sorted(conversations.items()):
            messages.sort(key=lambda m: m["turn"])
            ages = {m["sender"]: m.get("sender_age") for m in messages}
            ages.update({m["recipient"]: m.get("recipient_age") for m in messages
                         if m.get("recipient") and m["recipient"] not in ages})
            result = assess_conversation(
                [{"sender": m["sender"], "text": m["text"], "recipient": m.get("recipient"),
                  "at": m.get("at")} for m in messages],
                participants={k: v for k, v in ages.items() if isinstance(v, int)})
            sink.write(json.dumps({
                "key": cid, "source": messages[0]["file"],
                "kind": "+".join(messages[0].get("conversation_labels", [])),
                "half": half_of(cid),
                "grooming": level(result.findings, Risk.GROOMING),
                "sextortion": level(result.findings, Risk.SEXTORTION),
                "level": result.level.label,
                "messages": [{"turn": m["turn"], "text": m["text"],
                              "grooming": level(a.findings, Risk.GROOMING),
                              "signpost": [s.why for s in a.signposts
                                           if s.risk is Risk.GROOMING]}
                             for m, a in zip(messages, result.messages, strict=True)]}) + "\n")


def compare(before: Path, after: Path, half: str, show: bool) -> None:
    old = {r["key"]: r for r in rows(before)}
    new = {r["key"]: r for r in rows(after)}
    changes: Counter[tuple[str, str, str]] = Counter()
    totals: Counter[tuple[str, str]] = Counter()
    levels: Counter[tuple[str, str, str, str]] = Counter()
    for key, a in new.items():
        if a["half"] != half:
            continue
        b = old[key]
        group = (a["source"], a["kind"])
        totals[group] += 1
        for name, row in (("before", b), ("after", a)):
            levels[(*group, name, row["grooming"])] += 1
        what = [f"{risk} {b[risk]}->{a[risk]}" for risk in ("grooming", "sextortion", "level")
                if b[risk] != a[risk]]
        inner = [(m0, m1) for m0, m1 in zip(b["messages"], a["messages"], strict=True)
                 if (m0["grooming"], m0["signpost"]) != (m1["grooming"], m1["signpost"])]
        if inner:
            signposts = Counter(w for _m0, m1 in inner for w in m1["signpost"])
            what.append(f"{len(inner)} message answers"
                        + (f" (signposts {dict(sorted(signposts.items()))})"
                           if signposts else ""))
        if not what:
            continue
        changes[(*group, "; ".join(w for w in what if "message" not in w) or "messages only")] += 1
        if show and half == "dev":
            print(f"[{key}] {'; '.join(what)}")
            for m0, m1 in inner:
                print(f"    turn {m1['turn']}: {m0['grooming']}/{m0['signpost']} -> "
                      f"{m1['grooming']}/{m1['signpost']}: {m1['text']!r}")
    for group, total in sorted(totals.items()):
        mine = {w: n for (s, k, w), n in changes.items() if (s, k) == group}
        print(f"{group[0]} {group[1]} ({half}, {total}): "
              + ("; ".join(f"{n} x {w}" for w, n in sorted(mine.items())) or "no change"))
        for name in ("before", "after"):
            counts = {lv: n for (s, k, nm, lv), n in levels.items() if (s, k, nm) == (*group, name)}
            print(f"    grooming {name}: {dict(sorted(counts.items()))}")


def main() -> None:
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    else:
        compare(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], "--show" in sys.argv)


if __name__ == "__main__":
    main()
