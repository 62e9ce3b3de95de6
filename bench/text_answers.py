"""Dump the message engine's answers over a fixed sample, to prove a speed change changed none.

    python bench/text_answers.py OUT.jsonl [--per-source 4000] [--data ../shared/data/text-train]
    cmp before.jsonl after.jsonl   # must be byte-identical
    python bench/text_answers.py --gates   # every pattern on every text: matches the engine's
                                           # gate plan (SignalContext.candidates) skipped

One JSON line per (message, sender, recipient, gaming) case: the assessment's ``to_dict()``
(level, actions, findings with stages and spans, helplines, redacted text) plus what the JSON
leaves out and later stages read: each finding's exact score and tags, the cue hits (cue, stage,
weight, offsets, tags, placeholder) and the model's probability per risk, all with ``repr`` of
the floats so a change in the last bit shows. The sample is deterministic: every n-th row of the
bundle's chit-chat, GoEmotions, ConvAbuse and RMHD files (``--per-source`` rows each),
``data/text-synth/messages*/``, the personal-information sets' dev and test files,
``tests/safety/text/corpus`` and bench/text.py's own messages; the age bands and the gaming
flag cycle over the rows so the paths that read them run too. Nothing here is measured or tuned:
the rows are only replayed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUNDLE_FILES = (
    "chitchat-byu-pccl",
    "goemotions-benign",
    "convabuse",
    "reddit-mental-health-rmhd-sample",
)
BANDS = (None, "child", "teen", "adult")
MAX_CHARS = 20_000


def jsonl_texts(path: Path) -> Iterator[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield str(json.loads(line)["text"])


def every_nth(texts: list[str], count: int) -> list[str]:
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def sample(data: Path, per_source: int) -> list[str]:
    from bench.text import load, make_messages

    out: list[str] = []
    for name in BUNDLE_FILES:
        path = data / f"{name}.jsonl.gz"
        if not path.is_file():
            sys.exit(f"{path}: not found (use --data)")
        out += every_nth(list(jsonl_texts(path)), per_source)
    synth = ROOT / "data" / "text-synth"
    for folder in sorted(synth.glob("messages*")):
        for path in sorted(folder.glob("*.jsonl")):
            out += list(jsonl_texts(path))
    for folder in sorted(synth.glob("personal-info*")):
        for name in ("dev.jsonl", "test.jsonl"):
            if (folder / name).is_file():
                out += list(jsonl_texts(folder / name))
    for name in ("benign", "grooming", "personal_info", "sexual_content", "sextortion",
                 "bullying", "self_harm"):
        out += load(name)
    out += make_messages(5000, 7)
    return [text[:MAX_CHARS] for text in out]


def answer(text: str, index: int) -> dict[str, object]:
    from kidshield.safety.text import assess_message

    sender = BANDS[index % 4]
    recipient = BANDS[(index // 4) % 4]
    gaming = index % 7 == 0
    result = assess_message(text, sender=sender, recipient=recipient, gaming_context=gaming)
    return {
        "i": index,
        "case": [sender, recipient, gaming],
        "result": result.to_dict(),
        "scores": [[f.risk.value, repr(f.score), sorted(f.tags)] for f in result.findings],
        "hits": [
            [h.risk.value, h.cue, h.stage, repr(h.weight), h.start, h.end, sorted(h.tags),
             h.redact]
            for h in result.hits
        ],
        "model": {risk.value: repr(p) for risk, p in result.model_scores.items()},
    }


def check_gates(texts: list[str]) -> int:
    """Run every pattern on every text; print and count the matches its gates would skip."""
    from kidshield.safety.text.lexicon import load_lexicon
    from kidshield.safety.text.signals.base import SignalContext

    lexicon = load_lexicon()
    skipped = 0
    for text in texts:
        ctx = SignalContext(lexicon.normalizer.normalize(text), lexicon)
        for lex in lexicon.risks:
            view = ctx.norm.text if lex.view == "text" else ctx.norm.light
            chosen = {id(p) for p in ctx.candidates(lex)}
            for pattern in lex.patterns:
                if id(pattern) not in chosen and pattern.regex.search(view):
                    skipped += 1
                    print(f"gate skipped a match: {lex.risk.value} {pattern.cue.id}")
    print(f"{len(texts)} texts: {skipped} matches skipped by a gate")
    return skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--gates", action="store_true", help="check the gates instead")
    parser.add_argument("--per-source", type=int, default=4000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/text-train")
    args = parser.parse_args()
    data = args.data
    if not data.is_dir():
        data = Path("/work/shared/data/text-train")
    texts = sample(data, args.per_source)
    if args.gates:
        sys.exit(1 if check_gates(texts) else 0)
    if args.out is None:
        parser.error("OUT is required unless --gates")
    with args.out.open("w", encoding="utf-8") as out:
        for index, text in enumerate(texts):
            out.write(json.dumps(answer(text, index), sort_keys=True) + "\n")
    print(f"{len(texts)} cases -> {args.out}")


if __name__ == "__main__":
    main()
