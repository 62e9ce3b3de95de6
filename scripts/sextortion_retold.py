"""Sextortion answers on the sextortion sources and the synthetic conversations, to compare.

    PYTHONPATH=CODE python scripts/sextortion_retold.py dump OUT.jsonl
    python scripts/sextortion_retold.py compare BEFORE.jsonl AFTER.jsonl dev [--show]
    python scripts/sextortion_retold.py compare BEFORE.jsonl AFTER.jsonl test   # counts only

``dump`` assesses every row of ``data/text-synth/messages/sextortion*.jsonl`` and
``messages-b/self_harm_posts.jsonl`` (the one other file with a sextortion row) on its own
(sender and recipient ages from the row where it has them, else unknown), and every synthetic
conversation (``conversations*/``) through the tracker with its writers' ages; one line per
message and per conversation: its sextortion level, top level, sextortion signpost. The half is
the message text's (``halves.half_of``), a conversation's its id's. ``compare`` counts, per
source, kind and half, the rows whose answer changed and how; ``--show`` prints the DEV rows
only, never TEST ones.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SYNTH = Path("data/text-synth")
MESSAGE_FILES = ("messages/sextortion.jsonl", "messages/sextortion_negatives.jsonl",
                 "messages-b/self_harm_posts.jsonl")


def rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def kind_of(row: dict[str, Any]) -> str:
    return ":".join(str(row.get("source_label", "")).split(";")[0].split(":")[1:3])


def dump(out: Path) -> None:
    from kidshield.safety.text import assess_conversation, assess_message
    from kidshield.safety.text.halves import half_of
    from kidshield.safety.text.model import Risk

    def summary(findings: Any, signposts: Any, level: Any) -> dict[str, Any]:
        found = next((f for f in findings if f.risk is Risk.SEXTORTION), None)
        why = [s.why for s in signposts if s.risk is Risk.SEXTORTION]
        return {"sextortion": found.level.label if found else "none",
                "level": level.label, "signpost": why[0] if why else None}

    with open(out, "w", encoding="utf-8") as sink:
        for name in MESSAGE_FILES:
            for row in rows(SYNTH / name):
                if name.startswith("messages-b") and "sextortion" not in row["labels"]:
                    continue
                result = assess_message(row["text"], sender=row.get("sender_age"),
                                        recipient=row.get("recipient_age"))
                sink.write(json.dumps({
                    "key": row["id"], "source": name, "kind": kind_of(row),
                    "half": half_of(row["text"]), "text": row["text"],
                    **summary(result.findings, result.signposts, result.level)}) + "\n")
        conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for path in sorted(SYNTH.glob("conversations*/*.jsonl")):
            for row in rows(path):
                conversations[row["conversation"]].append({**row, "file": path.parent.name})
        for cid, messages in sorted(conversations.items()):
            messages.sort(key=lambda m: m["turn"])
            ages = {m["sender"]: m.get("sender_age") for m in messages}
            ages.update({m["recipient"]: m.get("recipient_age") for m in messages
                         if m.get("recipient") and m["recipient"] not in ages})
            result = assess_conversation(
                [{"sender": m["sender"], "text": m["text"], "recipient": m.get("recipient"),
                  "at": m.get("at")} for m in messages],
                participants={k: v for k, v in ages.items() if isinstance(v, int)})
            per_message = [summary(a.findings, a.signposts, a.level) for a in result.messages]
            sink.write(json.dumps({
                "key": cid, "source": messages[0]["file"],
                "kind": "+".join(messages[0].get("conversation_labels", [])),
                "half": half_of(cid), "text": "",
                **summary(result.findings, [], result.level),
                "messages": [{"turn": m["turn"], "text": m["text"], **s}
                             for m, s in zip(messages, per_message, strict=True)]}) + "\n")


def compare(before: Path, after: Path, half: str, show: bool) -> None:
    old = {r["key"]: r for r in rows(before)}
    new = {r["key"]: r for r in rows(after)}
    changes: Counter[tuple[str, str, str]] = Counter()
    totals: Counter[tuple[str, str]] = Counter()
    for key, a in new.items():
        if a["half"] != half:
            continue
        b = old[key]
        totals[(a["source"], a["kind"])] += 1
        what = []
        if (b["sextortion"], b["level"]) != (a["sextortion"], a["level"]):
            what.append(f"sextortion {b['sextortion']}->{a['sextortion']} "
                        f"(top {b['level']}->{a['level']})")
        if b["signpost"] != a["signpost"]:
            what.append(f"signpost {b['signpost']}->{a['signpost']}")
        inner = [(m0, m1) for m0, m1 in zip(b.get("messages", []), a.get("messages", []),
                                           strict=True)
                 if (m0["sextortion"], m0["level"], m0["signpost"])
                 != (m1["sextortion"], m1["level"], m1["signpost"])]
        if inner:
            what.append(f"{len(inner)} message answers")
        if not what:
            continue
        changes[(a["source"], a["kind"], "; ".join(what))] += 1
        if show and half == "dev":
            print(f"[{key}] {'; '.join(what)}: {a['text']!r}")
            for m0, m1 in inner:
                print(f"    turn {m1['turn']}: {m0['sextortion']}/{m0['signpost']} -> "
                      f"{m1['sextortion']}/{m1['signpost']}: {m1['text']!r}")
    for (source, kind), total in sorted(totals.items()):
        mine = {w: n for (s, k, w), n in changes.items() if (s, k) == (source, kind)}
        print(f"{source} {kind} ({half}, {total}): "
              + ("; ".join(f"{n} x {w}" for w, n in sorted(mine.items())) or "no change"))
    levels: Counter[tuple[str, str, str]] = Counter()
    for name, table in (("before", old), ("after", new)):
        for r in table.values():
            if r["half"] == half and r["source"].startswith("conversations") and \
                    r["kind"] == "benign":
                levels[(name, "benign conversations, sextortion", r["sextortion"])] += 1
    for (name, what, level), n in sorted(levels.items()):
        print(f"{name}: {what} {level}: {n}")


def main() -> None:
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    else:
        compare(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], "--show" in sys.argv)


if __name__ == "__main__":
    main()
