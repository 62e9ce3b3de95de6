"""Build ``tests/safety/text/data/common_words.txt``: the words the lexicon test for doubled
letters reads as "common" (``tests/safety/text/test_lexicon_doubled.py``).

The words come from the repository's own hand-written text (``data/text-synth``: messages,
messages-b, conversations, conversations-b; Apache-2.0, written for this project), DEV half
rows only (``kidshield.safety.text.halves``), in the engine's normalised view (lower case, no
apostrophes: "we'll" is "well"), kept when seen at least ``--min-count`` times. A licensed
frequency list of general English was not shipped: the ones on the package registries carry
data licences (CC-BY-SA) that the tests folder would then have to carry too, and the repo's
own chat is closer to what the lexicons read.

    PYTHONPATH=$PWD python scripts/common_words.py > tests/safety/text/data/common_words.txt
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
from pathlib import Path

from kidshield.safety.text.halves import DEV, half_of
from kidshield.safety.text.lexicon import load_lexicon

FOLDERS = ("messages", "messages-b", "conversations", "conversations-b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("data/text-synth"))
    parser.add_argument("--min-count", type=int, default=2)
    args = parser.parse_args()
    normalizer = load_lexicon().normalizer
    counts: collections.Counter[str] = collections.Counter()
    rows = 0
    for path in sorted(p for folder in FOLDERS for p in (args.root / folder).glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                text = str(json.loads(line)["text"])
                if half_of(text) != DEV:
                    continue
                rows += 1
                counts.update(re.findall(r"[a-z]+", normalizer.normalize(text).text))
    words = sorted(w for w, n in counts.items() if n >= args.min_count)
    commit = subprocess.run(
        ["git", "rev-parse", "--short=8", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print("# Words seen at least", args.min_count, "times in the DEV half rows of data/text-synth")
    print(f"# ({', '.join(FOLDERS)}; {rows} rows), normalised; built by scripts/common_words.py")
    print(f"# at {commit or 'an unknown commit'}. Source: written by kidshield contributors.")
    print("# Licence: Apache-2.0.")
    for word in words:
        print(word)


if __name__ == "__main__":
    main()
