"""CPU per cache miss, A/B: source trees of kidshield alternated with Unbound, one run.

    python bench/dns/miss.py --tree main=/work/main --tree branch=. [--rounds 3] [--names 20000]
                             [--cdn]

Each round starts Unbound and then `kidshield serve --no-web` from every tree in turn (the
bench/dns configuration, `PYTHONPATH` set to the tree, the same Python environment), warms
it with bench/dns's 5,000 names, and sends `--names` distinct names never seen before (so every
answer needs the fake upstream on loopback), reading the server's CPU time from /proc. The
order of the trees alternates from round to round, so load from elsewhere on the machine
falls on every side. Prints CPU µs per miss per round and the median ÷ Unbound's. ``--cdn``:
the fake upstream answers as a public resolver does for popular names (CNAME chains into a
CDN, a fifth NXDOMAIN; bench/dns/fake_upstream.py) instead of one A record each.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _bench() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("bench_dns", HERE / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dns"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return vars(module)


def user_sys(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of the process (one process: no --workers here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR",
                    help="a kidshield source tree to measure (repeat); default: this one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--names", type=int, default=20_000, help="distinct misses per measurement")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--cdn", action="store_true",
                    help="CDN-shaped upstream answers: CNAME chains, a fifth NXDOMAIN")
    args = ap.parse_args()
    trees = [t.split("=", 1) for t in args.tree] or [["this", str(HERE.parent.parent)]]
    b = _bench()
    b["ensure_tools"]()  # type: ignore[operator]
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-miss-"))
    plain = b["make_query_files"](tmp, 0)[0]  # type: ignore[operator]
    up_port = b["free_port"]()  # type: ignore[operator]
    upstream = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), str(up_port)]
                                + (["--cdn"] if args.cdn else []))
    time.sleep(0.5)
    rnd = random.Random(11)
    results: dict[str, list[float]] = {"unbound": []}
    results.update({label: [] for label, _ in trees})

    def measure(label: str, start: object) -> None:
        server = start()  # type: ignore[operator]
        try:
            b["dnsperf"](server.port, server.pid, plain, duration=None,  # type: ignore[operator]
                         clients=4, runs=2)
            misses = tmp / "misses.txt"
            misses.write_text("".join(f"m{i}x{rnd.randrange(10**9)}.miss.example A\n"
                                      for i in range(args.names)))
            before = user_sys(server.pid)
            run = b["dnsperf"](server.port, server.pid, misses,  # type: ignore[operator]
                               duration=None, clients=args.clients, runs=1)
            user, system = (after - was for after, was in zip(user_sys(server.pid), before,
                                                               strict=True))
            results[label].append(run.cpu_us_per_query)
            per = 1e6 / max(run.completed, 1)
            print(f"   {label:>10}: {run.cpu_us_per_query:7.1f} µs CPU per miss "
                  f"(user {user * per:.1f}, system {system * per:.1f}), "
                  f"{run.qps:9,.0f} qps, lost {run.lost}", flush=True)
        finally:
            server.stop()

    try:
        for r in range(args.rounds):
            print(f"-- round {r + 1} (load {os.getloadavg()[0]:.1f})", flush=True)
            measure("unbound", lambda: b["start_unbound"](tmp, up_port))  # type: ignore[operator]
            order = trees if r % 2 == 0 else trees[::-1]
            for label, tree in order:
                os.environ["PYTHONPATH"] = str(Path(tree).resolve())
                try:
                    # a database of its own: a tree with a newer migration would leave the
                    # shared one at a revision the other tree does not know (it then fails to
                    # start)
                    measure(label, lambda name=f"kidshield-{label}": b[
                        "start_kidshield"](tmp, up_port, name, None))  # type: ignore[operator]
                finally:
                    del os.environ["PYTHONPATH"]
    finally:
        upstream.terminate()
    ub = statistics.median(results["unbound"])
    print(f"\n{'':>10} {'median µs':>10} {'÷ Unbound':>10}   rounds")
    for label, values in results.items():
        med = statistics.median(values)
        print(f"{label:>10} {med:10.1f} {med / ub:10.2f}   "
              + " ".join(f"{v:.1f}" for v in values))


if __name__ == "__main__":
    main()
