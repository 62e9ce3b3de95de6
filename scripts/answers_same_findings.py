"""Compare two ``bench/text_answers.py`` dumps where only the help may differ.

    python scripts/answers_same_findings.py MAIN.jsonl BRANCH.jsonl [--withheld]

Everything but each result's ``actions``, ``helplines`` and ``signposts`` (level, findings with
scores, stages, spans and tags, cue hits, model scores) must be identical; exits 1 if not.
Prints how many rows differ in actions and helplines and the signposts by risk and why.

``--withheld`` also allows the one other change of the fifteenth session's rule
(``Combiner._only_told``): a row whose branch answer has a bullying signpost and no bullying
finding may have lost main's bullying finding (its level then is the rest's); such rows are
counted by the withheld finding's level and must match in everything else.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

LEVELS = ["none", "low", "medium", "high", "imminent"]


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as a, open(sys.argv[2], encoding="utf-8") as b:
        before, after = a.read().splitlines(), b.read().splitlines()
    if len(before) != len(after):
        sys.exit(f"{len(before)} rows against {len(after)}")
    other = 0
    allow_withheld = "--withheld" in sys.argv
    withheld: Counter[str] = Counter()
    differ: Counter[str] = Counter()
    why: Counter[str] = Counter()
    for old_line, new_line in zip(before, after, strict=True):
        old, new = json.loads(old_line), json.loads(new_line)
        old["result"].pop("signposts", None)
        signposts = new["result"].pop("signposts", [])
        if allow_withheld and any(s["risk"] == "bullying" for s in signposts):
            lost = [f for f in old["result"]["findings"] if f["risk"] == "bullying"]
            if lost and not any(f["risk"] == "bullying" for f in new["result"]["findings"]):
                withheld[lost[0]["level"]] += 1
                old["result"]["findings"].remove(lost[0])
                old["scores"] = [row for row in old["scores"] if row[0] != "bullying"]
                old["result"]["level"] = max(
                    (f["level"] for f in old["result"]["findings"]), default="none",
                    key=LEVELS.index)
        for signpost in signposts:
            why[f"{signpost['risk']}/{signpost['why']}"] += 1
        if any(s["risk"] == "bullying" for s in signposts):
            differ["rows with a bullying signpost"] += 1
        for key in ("actions", "helplines"):
            if old["result"].pop(key) != new["result"].pop(key):
                differ[key] += 1
        other += old != new
    print(f"{len(before)} cases; rows differing in anything but the help: {other}")
    print("differ:", dict(differ))
    print("signposts (risk/why):", dict(why))
    if allow_withheld:
        print("bullying findings withheld (by level):", dict(withheld))
    sys.exit(1 if other else 0)


if __name__ == "__main__":
    main()
