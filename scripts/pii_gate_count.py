"""Count personal-information recall and precision of the engine on voices' TEST halves, as
``kidshield eval text`` scores a row (fifteenth session, branch pii-gate-2: run once in main's
tree and once in the branch's, docs/safety-log.md). Prints counts only.

    PYTHONPATH=$PWD python scripts/pii_gate_count.py deg [--half test]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.trainingdata import is_chat_segment

SYNTH = Path(__file__).resolve().parents[1] / "data" / "text-synth"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("voices", help="letters of the voices, e.g. deg")
    parser.add_argument("--half", default="test", choices=("dev", "test"))
    args = parser.parse_args()
    for voice in args.voices:
        path = SYNTH / f"personal-info-{voice}" / f"{args.half}.jsonl"
        tp = fp = n = rows = 0
        for line in path.open(encoding="utf-8"):
            if not line.strip():
                continue
            row = json.loads(line)
            text = str(row["text"])
            levels, _ = _score_row(
                text, as_segment=is_chat_segment(text), sender=None, recipient=None, language=None
            )
            flag = levels.get(Risk.PERSONAL_INFO, RiskLevel.NONE) >= RiskLevel.LOW
            pii = "personal_info" in row.get("labels", [])
            rows += 1
            n += pii
            tp += flag and pii
            fp += flag and not pii
        print(
            f"{args.half.upper()} {voice}: {rows} rows, {n} personal information; "
            f"R {tp}/{n} {tp / max(n, 1):.3f} P {tp / max(tp + fp, 1):.3f} (FP {fp})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
