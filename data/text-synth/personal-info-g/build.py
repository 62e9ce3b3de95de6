"""Compile the seventh writer's personal-information rows in src/ into dev.jsonl and test.jsonl.

Rows are written by hand in src/NN-<register>.txt (format in README.md); this script does only
the bookkeeping: ids, labels and kinds from the headers, the DEV/TEST half of each row
(kidshield.safety.text.halves.half_of, so the split never depends on order or labels), and
the checks a reviewer cannot do by eye (no text twice, none shared with the six earlier
writers' ../personal-info, -b, -c, -d, -e and -f). It never writes or varies a row's text.

    python data/text-synth/personal-info-g/build.py           # rewrite dev.jsonl and test.jsonl
    python data/text-synth/personal-info-g/build.py --check   # exit 1 if they are out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pii_build import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(HERE, "pig", ("personal-info", "personal-info-b", "personal-info-c",
                          "personal-info-d", "personal-info-e", "personal-info-f"),
                          __doc__.splitlines()[0]))
