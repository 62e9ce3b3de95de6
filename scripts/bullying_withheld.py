"""What withholding a bullying finding on a told disclosure costs (``Combiner._only_told``).

    PYTHONPATH=$PWD python scripts/bullying_withheld.py dev [--show]
    PYTHONPATH=$PWD python scripts/bullying_withheld.py test     # once, after the bar

For each source's rows labelled bullying, hate or threat (what the bullying head is trained
on) in the given half: how many have a bullying finding with the rule off and lose it with the
rule on (the recall lost, as a share of the source's labelled rows in that half). Only rows the
lexicon's target/threat/other patterns match can change (the rule needs a bullying signpost),
so only those are assessed twice. Also messages-b victim reports (``school-story:victim-report``)
with a bullying finding, before and after. The shipped model is used: it was trained on these
sources, so its recall is not the figure that counts, but the rows the rule takes away are.
``--show`` prints DEV rows only, never TEST ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bullying_disclosure import candidate, rows  # scripts/: python puts the script's folder first

from kidshield.safety.text import assess_message
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.model import Risk

DATA = Path("/work/shared/data/text-train")
SYNTH = Path("data/text-synth")
POSITIVE = frozenset({"bullying", "hate", "threat"})
SOURCES = [
    ("convabuse", DATA / "convabuse.jsonl.gz"),
    ("diasafety", DATA / "diasafety.jsonl.gz"),
    ("hatecheck", DATA / "hatecheck.jsonl.gz"),
    ("stormfront", DATA / "stormfront-hate-speech.jsonl.gz"),
    ("civil comments", DATA / "toxic-spans-civil-comments.jsonl.gz"),
    ("toxigen", DATA / "toxigen-prompts.jsonl.gz"),
    ("messages/bullying", SYNTH / "messages/bullying.jsonl"),
    ("messages-b/bullying_tweets (not victim reports)",
     SYNTH / "messages-b/bullying_tweets.jsonl"),
]
RULE = Combiner._only_told


def flagged(text: str, rule: bool) -> bool:
    Combiner._only_told = RULE if rule else lambda *_args: False  # type: ignore[method-assign]
    try:
        return assess_message(text).finding(Risk.BULLYING) is not None
    finally:
        Combiner._only_told = RULE  # type: ignore[method-assign]


def main() -> None:
    half = sys.argv[1]
    show = "--show" in sys.argv and half == "dev"
    for name, path in SOURCES:
        total = lost = told = 0
        for row in rows(path):
            if not POSITIVE & set(row["labels"]) or half_of(row["text"]) != half:
                continue
            if "victim-report" in row.get("source_label", ""):
                continue
            total += 1
            if candidate(row["text"]):
                told += 1
                if flagged(row["text"], False) and not flagged(row["text"], True):
                    lost += 1
                    if show:
                        print(f"  [{name}] {row['text'][:300]!r}")
        print(f"{name} {half}: {total} labelled rows, {told} with disclosure words, "
              f"finding withheld {lost} (recall -{lost / max(total, 1):.4f})", flush=True)
    victims = [r["text"] for r in rows(SYNTH / "messages-b/bullying_tweets.jsonl")
               if "victim-report" in r["source_label"] and half_of(r["text"]) == half]
    before = sum(flagged(text, False) for text in victims)
    after = sum(flagged(text, True) for text in victims)
    print(f"victim reports {half} with a bullying finding: {before}/{len(victims)} -> "
          f"{after}/{len(victims)}")


if __name__ == "__main__":
    main()
