"""Domain index benchmark: build time, memory and lookup cost with 1,000,000 blocked names.

    python bench/policy.py [--domains 1000000] [--lookups 200000]

The parent generates a domain list and a query mix (40% hit the list, directly or through a
parent domain; 60% miss), then measures two fresh child processes on the same files:

* ours: the real loader (parse + index build) and the real policy engine, importing only what
  the resolver needs (config, lists, policy);
* reference: the obvious structure, a Python ``set`` of the names with the same suffix walk.

Printed side by side with ratios; RSS is read from /proc for the whole child process.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_files(tmp: Path, n: int, lookups: int) -> tuple[Path, Path]:
    rnd = random.Random(7)
    tlds = ["com", "net", "org", "io", "co.uk", "de", "fr", "info", "xyz", "ru"]
    letters = string.ascii_lowercase + string.digits
    names: set[str] = set()
    while len(names) < n:
        name = f"{''.join(rnd.choices(letters, k=rnd.randint(5, 14)))}.{rnd.choice(tlds)}"
        if rnd.random() < 0.3:
            name = f"{''.join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 6)))}.{name}"
        names.add(name)
    ordered = sorted(names)
    list_file = tmp / "big.txt"
    list_file.write_text("# generated for bench/policy.py\n" + "\n".join(ordered) + "\n")
    queries = []
    for _ in range(lookups):
        r = rnd.random()
        if r < 0.2:
            queries.append(rnd.choice(ordered))
        elif r < 0.4:
            queries.append("www.cdn." + rnd.choice(ordered))
        else:
            queries.append(f"www.{''.join(rnd.choices(string.ascii_lowercase, k=9))}.example.com")
    query_file = tmp / "queries.txt"
    query_file.write_text("\n".join(queries) + "\n")
    return list_file, query_file


def child_ours(list_file: Path, query_file: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from datetime import UTC, datetime

    from kidshield.config import parse_config
    from kidshield.lists.loader import load_lists
    from kidshield.policy.catalog import default_catalog
    from kidshield.policy.engine import PolicyEngine
    from kidshield.policy.model import Query
    from kidshield.policy.state import ProfileState
    from kidshield.profiles import compile_profiles

    config = parse_config(
        f'[[lists]]\nname = "big"\nsource = "{list_file}"\ncategory = "adult"\n'
        '[profiles.kid]\nbirth_date = 2015-04-12\n',
        source="bench.toml",
    )
    catalog = default_catalog()
    base = status_mb("VmRSS")
    t0 = time.perf_counter()
    loaded = load_lists(config)
    build = time.perf_counter() - t0
    rss = status_mb("VmRSS")
    index = loaded.lists.index
    queries = query_file.read_text().split()
    t0 = time.perf_counter()
    hits = sum(1 for q in queries if index.contains_suffix(q))
    lookup = (time.perf_counter() - t0) / len(queries)
    engine = PolicyEngine(catalog, loaded.lists)
    profile = compile_profiles(config)["kid"]
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    state = ProfileState()
    qs = [Query(q) for q in queries]
    t0 = time.perf_counter()
    blocked = sum(1 for q in qs if engine.decide(q, profile, now, state).blocked)
    decide = (time.perf_counter() - t0) / len(qs)
    return {"base": base, "rss": rss, "peak": status_mb("VmHWM"), "build": build,
            "lookup_us": lookup * 1e6, "decide_us": decide * 1e6, "hits": hits,
            "blocked": blocked, "entries": len(index), "arrays_mb": index.memory_bytes() / 1e6}


def child_reference(list_file: Path, query_file: Path) -> dict[str, float]:
    # the resolver's own walk over a plain set; imported before the baseline is read, so
    # the module's imports are not counted as the set's memory
    from kidshield.policy.domains import covered_by

    base = status_mb("VmRSS")
    t0 = time.perf_counter()
    with list_file.open() as fh:
        names = {line.strip() for line in fh if line.strip() and not line.startswith("#")}
    build = time.perf_counter() - t0
    rss = status_mb("VmRSS")
    queries = query_file.read_text().split()

    t0 = time.perf_counter()
    hits = sum(1 for q in queries if covered_by(q, names))
    lookup = (time.perf_counter() - t0) / len(queries)
    return {"base": base, "rss": rss, "peak": status_mb("VmHWM"), "build": build,
            "lookup_us": lookup * 1e6, "hits": hits, "entries": len(names)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=200_000)
    ap.add_argument("--child", choices=["ours", "reference"])
    ap.add_argument("--files", nargs=2, type=Path)
    args = ap.parse_args()
    if args.child:
        func = child_ours if args.child == "ours" else child_reference
        print(json.dumps(func(*args.files)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-policy-"))
    files = make_files(tmp, args.domains, args.lookups)
    results = {}
    for kind in ("ours", "reference"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--files", *map(str, files)],
            check=True, capture_output=True, text=True,
        )
        results[kind] = json.loads(proc.stdout)
    ours, ref = results["ours"], results["reference"]
    assert ours["hits"] == ref["hits"], "index and reference disagree"
    print(f"{args.domains:,} blocked domains, {args.lookups:,} lookups (40% hits)\n")
    print(f"{'':34}{'kidshield':>14}{'python set':>14}{'ratio':>8}")

    def row(label: str, key: str, fmt: str, unit: str) -> None:
        a, b = ours[key], ref[key]
        print(f"{label:34}{format(a, fmt) + unit:>14}{format(b, fmt) + unit:>14}"
              f"{a / b if b else float('nan'):>7.2f}x")

    row("load: parse + index build", "build", ".2f", " s")
    row("process RSS with the list loaded", "rss", ".1f", " MB")
    row("  of which before loading", "base", ".1f", " MB")
    row("peak RSS (VmHWM)", "peak", ".1f", " MB")
    row("suffix lookup", "lookup_us", ".2f", " µs")
    print(f"{'full policy decision (engine)':34}{ours['decide_us']:>11.2f} µs"
          f"   ({ours['blocked']:,} of {args.lookups:,} blocked)")
    print(f"{'index arrays':34}{ours['arrays_mb']:>11.1f} MB")


if __name__ == "__main__":
    main()
