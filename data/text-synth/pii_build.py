"""The bookkeeping shared by the personal-information evaluation sets written in src/ form
(personal-info-b, personal-info-c): each set's build.py calls ``main``.

Rows are written by hand in <set>/src/NN-<register>.txt (format in each set's README.md);
this does only the bookkeeping: ids, labels and kinds from the headers, the DEV/TEST half of
each row (kidshield.safety.text.halves.half_of, so the split never depends on order or
labels), and the checks a reviewer cannot do by eye (no text twice, none shared with the
other writers' sets). It never writes or varies a row's text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kidshield.safety.text.halves import half_of

HEADER = re.compile(r"^@\s+(?P<kinds>-|[a-z_]+(?:,[a-z_]+)*)\s*\|\s*(?P<kind>[a-z0-9_:-]+)$")
KINDS = frozenset({
    "name", "phone", "email", "address", "dob", "card", "iban", "account", "national_id",
    "passport", "driver_licence", "plate", "username", "password", "ip", "insurance", "school",
    "age_location", "live_location",
})


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def rows(here: Path, prefix: str, others: tuple[str, ...]) -> list[dict[str, object]]:
    seen = {_key(json.loads(line)["text"]) for name in others
            for f in (here.parent / name).glob("*.jsonl")
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()}
    out: list[dict[str, object]] = []
    for path in sorted((here / "src").glob("*.txt")):
        kinds: list[str] | None = None
        label = ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{number}"
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("@"):
                m = HEADER.match(line)
                if not m:
                    sys.exit(f"{where}: bad header {line!r}")
                kinds = [] if m["kinds"] == "-" else m["kinds"].split(",")
                unknown = set(kinds) - KINDS
                if unknown:
                    sys.exit(f"{where}: unknown kinds {sorted(unknown)}")
                label = m["kind"]
                continue
            if not line.startswith("- ") or kinds is None:
                sys.exit(f"{where}: expected '- text' after a '@' header")
            text = line[2:].strip().replace("\\n", "\n")
            if _key(text) in seen:
                sys.exit(f"{where}: duplicate text {text!r}")
            seen.add(_key(text))
            out.append({
                "id": f"{prefix}-{path.stem[:2]}-{number:04d}",
                "text": text,
                "labels": ["personal_info"] if kinds else ["benign"],
                "source_label": label,
                "kinds": kinds,
            })
    return out


def main(here: Path, prefix: str, others: tuple[str, ...], description: str) -> int:
    """Build (or with --check, compare) ``here``'s dev.jsonl and test.jsonl; ids start with
    ``prefix``; no text may be in the sets of the folders named in ``others``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args()
    halves: dict[str, list[str]] = {"dev": [], "test": []}
    for row in rows(here, prefix, others):
        halves[half_of(str(row["text"]))].append(json.dumps(row, ensure_ascii=False))
    stale = False
    for half, lines in halves.items():
        path = here / f"{half}.jsonl"
        text = "\n".join(lines) + "\n"
        if args.check:
            stale |= not path.exists() or path.read_text(encoding="utf-8") != text
        else:
            path.write_text(text, encoding="utf-8")
        pos = sum('"personal_info"' in line for line in lines)
        print(f"{half}.jsonl: {len(lines)} rows ({pos} with personal information)")
    if stale:
        print("out of date: run build.py", file=sys.stderr)
    return 1 if stale else 0
