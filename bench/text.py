"""Benchmark the message safety engine: messages/s on one core and p50/p99 per message.

    python bench/text.py [--messages 20000] [--seed 7] [--previous REF] [--model DIR ...]

Messages are drawn from the test corpora (90% ordinary teen talk, 10% risky), some joined into
longer ones, so lengths look like chat: mostly short, a tail up to a few hundred characters.
The previous engine (cue lexicons only, before the learned models) runs on the same messages
in a child process from ``git archive REF`` (default: the last commit before the models).
Two references run on the same messages in the same process:
  * keyword-in: ``str.lower()`` then ``word in text`` for a list of risk keywords;
  * one-regex: a single ``\\b(?:kw1|kw2|...)\\b`` alternation over the lower-cased text.
The ratio column is reference speed / engine speed (how much the full engine costs over a bare
keyword filter that understands nothing of context, direction, evasion or spans).
Rates and latencies use this thread's CPU time, so a busy machine (other processes competing for
the core) does not inflate them; the wall-clock rate is printed beside it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "safety" / "text" / "corpus"

KEYWORDS = [
    "nudes", "naked", "sex", "horny", "porn", "dick", "boobs", "secret", "alone", "parents",
    "snap", "meet", "address", "school", "number", "kill", "die", "suicide", "cut", "pills",
    "kys", "loser", "ugly", "fat", "slut", "hate", "leak", "pay", "send", "pic", "mature",
    "delete", "robux", "vbucks", "webcam", "camera", "trouble", "bridge", "rope", "noose",
]  # fmt: skip


PREVIOUS_ENGINE = "738f194"  # main before the learned models (cue lexicons only)
RISKS = ["grooming", "personal_info", "sexual_content", "sextortion", "bullying", "self_harm"]


def load(name: str) -> list[str]:
    text = (CORPUS / f"{name}.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def make_messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    benign = load("benign")
    risky = [m for risk in RISKS for m in load(risk)]
    out: list[str] = []
    for _ in range(count):
        pool = risky if rng.random() < 0.1 else benign
        parts = 1 + (rng.random() < 0.25) + (rng.random() < 0.1) + (rng.random() < 0.05) * 3
        out.append(" ".join(rng.choice(pool) for _ in range(parts)))
    return out


def keyword_in(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in KEYWORDS)


_ONE_REGEX = re.compile(r"\b(?:" + "|".join(KEYWORDS) + r")\b")


def one_regex(text: str) -> bool:
    return _ONE_REGEX.search(text.lower()) is not None


def engine(text: str) -> object:
    from kidshield.safety.text import assess_message

    return assess_message(text)


def engine_of(folder: Path) -> Callable[[str], object]:
    """The engine with the model in ``folder`` (to price a model before it ships)."""
    from kidshield.safety.text import assess_message
    from kidshield.safety.text.classifier import load_classifier
    from kidshield.safety.text.combine import Combiner

    combiner = Combiner(load_classifier(folder))

    def run(text: str) -> object:
        return assess_message(text, engine=combiner)

    return run


def measure(fn: Callable[[str], object], messages: list[str]) -> tuple[float, float, float, float]:
    """(messages/s by CPU time, messages/s by wall time, p50 ms, p99 ms).

    Latencies are this thread's CPU time per call, so time spent descheduled on a busy machine
    does not count: they are the cost of a message on one core."""
    for text in messages[:500]:  # warm up caches
        fn(text)
    gc.collect()
    gc.disable()
    try:
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for text in messages:
            fn(text)
        cpu = time.thread_time() - cpu0
        wall = time.perf_counter() - wall0
        timings: list[int] = []
        clock = time.thread_time_ns
        for text in messages:
            t0 = clock()
            fn(text)
            timings.append(clock() - t0)
    finally:
        gc.enable()
    timings.sort()
    p50 = timings[len(timings) // 2] / 1e6
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))] / 1e6
    return len(messages) / cpu, len(messages) / wall, p50, p99


def previous_engine(ref: str, messages: list[str]) -> tuple[float, float, float, float] | None:
    """Measure the engine of git ``ref`` on the same messages, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "ref.tar"
        done = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "kidshield"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"previous engine: cannot read {ref} from git ({done.stderr.strip()})")
            return None
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        (Path(tmp) / "messages.json").write_text(json.dumps(messages), encoding="utf-8")
        child = subprocess.run(
            [sys.executable, __file__, "--engine-only", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(f"previous engine failed: {child.stderr.strip()[-500:]}")
            return None
        rate, wall, p50, p99 = json.loads(child.stdout.strip().splitlines()[-1])
        return rate, wall, p50, p99


def engine_only(root: str) -> None:
    """Child process: measure the kidshield found in ``root`` on its messages.json."""
    sys.path.insert(0, root)
    messages = json.loads((Path(root) / "messages.json").read_text(encoding="utf-8"))
    pin_one_core()
    print(json.dumps(measure(engine, messages)))


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--previous", default=PREVIOUS_ENGINE, help="git ref of the old engine")
    parser.add_argument("--engine-only", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="also the engine with the model in this folder (repeatable)")
    args = parser.parse_args()
    if args.engine_only:
        engine_only(args.engine_only)
        return
    pin_one_core()
    messages = make_messages(args.messages, args.seed)
    lengths = sorted(len(m) for m in messages)
    print(f"python {sys.version.split()[0]}, {len(messages)} messages, one core")
    print(
        f"message length: median {statistics.median(lengths):.0f}, "
        f"p90 {lengths[int(len(lengths) * 0.9)]}, max {lengths[-1]} characters"
    )
    results = {"engine": measure(engine, messages)}
    for folder in args.model:
        results[f"model:{folder.name}"[:18]] = measure(engine_of(folder), messages)
    previous = previous_engine(args.previous, messages) if args.previous else None
    if previous is not None:
        results[f"previous@{args.previous[:7]}"] = previous
    results["keyword-in"] = measure(keyword_in, messages)
    results["one-regex"] = measure(one_regex, messages)
    rate, _wall_rate, _p50, p99 = results["engine"]
    header = f"{'':18} {'msg/s cpu':>10} {'msg/s wall':>11} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"{header} {'ref/engine':>11}")
    for name, (r, w, a, b) in results.items():
        ratio = "" if name == "engine" else f"{r / rate:10.2f}x"
        print(f"{name:18} {r:10.0f} {w:11.0f} {a:8.3f} {b:8.3f} {ratio:>11}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = rate >= 5000 and p99 <= 2.0
    print(
        f"target >= 5000 msg/s and p99 <= 2 ms (CPU time, one core): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
