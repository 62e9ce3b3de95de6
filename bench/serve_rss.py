"""RSS of ``kidshield serve`` once it is listening, without and with its web server: what the
resolver process holds before it answers anything (no lists beyond the shipped ones).

    python bench/serve_rss.py [--runs 3] [--reference DIR]

``--reference DIR``: a kidshield source tree to compare with in the same run (for example
``git archive 3fc8254 kidshield | tar -x -C /tmp/ref``), started with ``PYTHONPATH=DIR``.
Everything is on loopback; the upstream is never asked.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processes import stop

HERE = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:  # TCP; the resolver's UDP twin is free alike on a quiet host
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory(pid: int) -> tuple[float, float, float]:
    """VmRSS, RssAnon and RssFile of ``pid`` in MB."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    rss, anon, file = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile"))
    return rss, anon, file


def one(tree: Path, web: bool) -> tuple[float, float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-rss-"))
    config = tmp / "kidshield.toml"
    config.write_text(f"""[server]
storage = "{tmp / 'kidshield.db'}"
default_profile = "kid"
[dns]
listen = ["127.0.0.1:{free_port()}"]
upstreams = ["udp://127.0.0.1:{free_port()}"]
rate_limit_qps = 0
[web]
listen = "127.0.0.1:{free_port()}"
[profiles.kid]
age_band = "13-15"
""")
    cmd = [sys.executable, "-m", "kidshield", "serve", "--config", str(config)]
    proc = subprocess.Popen([*cmd, *([] if web else ["--no-web"])], cwd=tmp, text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(tree)})
    ready = "web:" if web else "listening: tcp"
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if ready in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tree}: kidshield serve did not start")
        time.sleep(2)  # start-up's last allocations settle
        return memory(proc.pid)
    finally:
        stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reference", type=Path, default=None)
    args = ap.parse_args()
    trees = [("this tree", HERE)]
    if args.reference is not None:
        trees.insert(0, ("reference", args.reference.resolve()))
    print(f"{'':24}{'RSS MB':>9}{'anon':>8}{'file':>8}   (median of {args.runs})")
    for web in (False, True):
        for name, tree in trees:
            runs = [one(tree, web) for _ in range(args.runs)]
            rss, anon, file = (statistics.median(r[i] for r in runs) for i in range(3))
            label = f"{name}, {'with web' if web else '--no-web'}"
            print(f"{label:24}{rss:>9.1f}{anon:>8.1f}{file:>8.1f}")


if __name__ == "__main__":
    main()
