"""Which benign rows of a labelled corpus get a personal-information finding (``low`` or
above), scored as ``kidshield eval text`` scores them (chat segments as conversations, long
texts truncated): the count per file, and the rows in a JSONL file to compare two engines'.

    python data/text-synth/pii_benign_rows.py flagged.jsonl \\
        ../shared/data/text-train/chitchat-byu-pccl.jsonl.gz data/text-synth/messages*/*.jsonl

Two runs' files differ only in the rows one engine flags and the other does not.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kidshield.safety.text.assess import MAX_TEXT_LENGTH
from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.trainingdata import is_chat_segment

BENIGN: tuple[list[str], ...] = (["benign"], ["none"], [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSONL of the flagged rows (file, line, text)")
    parser.add_argument("files", nargs="+", type=Path, help="JSONL corpora (.gz too)")
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as out:
        for path in args.files:
            opener = gzip.open if path.suffix == ".gz" else open
            rows = flagged = 0
            with opener(path, "rt", encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    row = json.loads(line)
                    if row.get("labels") not in BENIGN:
                        continue
                    rows += 1
                    text = str(row["text"])
                    segment = is_chat_segment(text)
                    if not segment:
                        text = text[:MAX_TEXT_LENGTH]
                    levels, _ = _score_row(
                        text, as_segment=segment, sender=None, recipient=None, language=None
                    )
                    if levels.get(Risk.PERSONAL_INFO, RiskLevel.NONE) >= RiskLevel.LOW:
                        flagged += 1
                        record = {"file": path.name, "line": number, "text": text[:300]}
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"{path.name}: {flagged} of {rows} benign rows flagged", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
