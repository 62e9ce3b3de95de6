"""Benchmark personal-information detection on messages full of numbers and addresses.

    python bench/pii.py [--repeat 20] [--reference DIR]

bench/text.py measures the engine on ordinary chat, where few messages hold a number; this one
takes the personal-information evaluation set (data/text-synth/personal-info/, every message
with phone numbers, addresses, cards, IBANs, ids, dates, prices or order numbers) so the cost of
the number scanner and libphonenumber shows. It prints messages/s and p50/p99 per message (CPU
time of this thread, one core) for the whole engine and for the number scanner alone.
With ``--reference DIR`` (a checkout of another version, e.g. ``git worktree add /tmp/ref
main``) the same messages also run through that version's engine in a child process and the
ratio is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "data" / "text-synth" / "personal-info"


def messages() -> list[str]:
    out: list[str] = []
    for name in ("dev", "heldout"):
        for line in (SET / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            out.append(json.loads(line)["text"])
    return out


def measure(
    fn: Callable[[str], object], texts: list[str], repeat: int
) -> tuple[float, float, float]:
    """(messages/s, p50 ms, p99 ms) by this thread's CPU time."""
    for text in texts:  # warm up: lexicon, libphonenumber metadata
        fn(text)
    timings: list[int] = []
    clock = time.thread_time_ns
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for text in texts:
                t0 = clock()
                fn(text)
                timings.append(clock() - t0)
    finally:
        gc.enable()
    timings.sort()
    total = sum(timings) / 1e9
    return (
        len(timings) / total,
        timings[len(timings) // 2] / 1e6,
        timings[int(len(timings) * 0.99)] / 1e6,
    )


def run(root: Path, repeat: int) -> dict[str, tuple[float, float, float]]:
    sys.path.insert(0, str(root))
    from kidshield.safety.text import assess_message

    texts = messages()
    results = {"engine": measure(assess_message, texts, repeat)}
    try:
        from kidshield.safety.text.pii import find_numbers, load_number_words
    except ImportError:  # an older version without the number scanner
        return results
    from kidshield.safety.text.lexicon import load_lexicon

    words = load_number_words("en")
    lexicon = load_lexicon("en")
    lights = [lexicon.normalizer.normalize(t).light for t in texts]
    results["numbers only"] = measure(lambda light: find_numbers(light, words), lights, repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reference", type=Path, help="another checkout to compare with")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    if args.child is not None:  # measure one checkout, print JSON
        print(json.dumps(run(args.child, args.repeat)))
        return
    results = {"this checkout": run(ROOT, args.repeat)}
    if args.reference is not None:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(args.reference),
                "--repeat",
                str(args.repeat),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results["reference"] = {k: tuple(v) for k, v in json.loads(out).items()}  # type: ignore[misc]
    print(f"python {sys.version.split()[0]}, {len(messages())} messages x {args.repeat}, one core")
    print(f"{'':28} {'msg/s cpu':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for checkout, rows in results.items():
        for name, (rate, p50, p99) in rows.items():
            print(f"{checkout + ': ' + name:28} {rate:10.0f} {p50:8.3f} {p99:8.3f}")
    if "reference" in results:
        ours = results["this checkout"]["engine"][0]
        theirs = results["reference"]["engine"][0]
        print(f"engine speed, this checkout / reference: {ours / theirs:.2f}x")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
