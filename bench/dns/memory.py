"""RSS of `kidshield serve` as distinct names keep coming: is it bounded? (issue 17 item 6)

    python bench/dns/memory.py [--names 300000] [--step 50000] [--list FILE]

Starts the fake upstream (bench/dns/fake_upstream.py) and `kidshield serve --no-web` with the
configuration bench/dns uses, warms it with the 5,000 names of bench/dns, then sends distinct
names never seen before, every one of them (dnsperf, one pass per step, 32 in flight), and
prints RSS (anonymous and file-backed) after each step. `bench/dns` itself stops its miss run
after `--duration` seconds; this runs all the names through. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_dns", HERE / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dns"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--names", type=int, default=300_000, help="distinct names in all")
    ap.add_argument("--step", type=int, default=50_000, help="names between RSS readings")
    ap.add_argument("--list", type=Path, default=None, help="a block list to load as well")
    args = ap.parse_args()
    bd: object = _bench()
    b = vars(bd)  # the bench's functions, without a type for the module
    b["ensure_tools"]()
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-memory-"))
    plain, _mixed, _misses, _list = b["make_query_files"](tmp, 0)
    up_port = b["free_port"]()
    upstream = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), str(up_port)])
    time.sleep(0.5)
    server = b["start_kidshield"](tmp, up_port, "kidshield", args.list)
    rss = b["rss_mb"]
    try:
        pid = server.pid
        b["dnsperf"](server.port, pid, plain, duration=None, clients=4, runs=2)
        time.sleep(1)
        print(f"{'names':>8} {'RSS MB':>8} {'anon':>7} {'file':>7} {'qps':>8} {'CPU µs':>7}")
        print(f"{'warm':>8} {rss(pid):8.1f} {rss(pid, 'RssAnon'):7.1f} "
              f"{rss(pid, 'RssFile'):7.1f}", flush=True)
        rnd = random.Random(7)
        done = 0
        while done < args.names:
            step = min(args.step, args.names - done)
            names = tmp / "step.txt"
            names.write_text("".join(f"m{done + i}x{rnd.randrange(10**9)}.miss.example A\n"
                                     for i in range(step)))
            run = b["dnsperf"](server.port, pid, names, duration=None, clients=32, runs=1)
            done += step
            time.sleep(0.5)
            print(f"{done:>8} {rss(pid):8.1f} {rss(pid, 'RssAnon'):7.1f} "
                  f"{rss(pid, 'RssFile'):7.1f} {run.qps:8.0f} {run.cpu_us_per_query:7.1f}",
                  flush=True)
    finally:
        server.stop()
        upstream.terminate()


if __name__ == "__main__":
    main()
