"""``kidshield check`` with a 1,000,000-rule list: the first call (parses the list and saves the
index) against later calls (map the saved index), wall and CPU time per call.

    python bench/check.py [--domains 1000000] [--calls 10]

Each call is the installed command in a fresh process, as a parent or a script runs it, with a
database present (grants and minutes used are read, as by default), from compiled bytecode as
an installed package runs (the first call writes it in a checkout). The reference in the same
run is the first call, which is what every call cost before the index was kept.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import make_list

CONFIG = """
[server]
storage = "bench.db"
data_dir = "data"

[[lists]]
name = "big"
source = "{list}"
category = "adult"

[profiles.mia]
age_band = "9-12"
"""


# An installed kidshield runs from compiled bytecode (pip writes it at install time); a
# checkout writes it on the first call, unless PYTHONDONTWRITEBYTECODE says not to (set on
# some development machines), and every call would then compile each module again (about
# 0.06 s of CPU), which no user pays.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-check-"))
    make_list(tmp / "big.txt", args.domains)
    config = tmp / "kidshield.toml"
    config.write_text(CONFIG.format(list=tmp / "big.txt"))
    kidshield = str(Path(sys.executable).with_name("kidshield"))
    subprocess.run([kidshield, "init", str(tmp / "unused.toml")], check=True,
                   capture_output=True)
    from sqlite3 import connect  # a database file, as a running server leaves one

    connect(tmp / "bench.db").close()
    listed = (tmp / "big.txt").read_text().splitlines()[1]
    cmd = [kidshield, "check", "-c", str(config), "-p", "mia", f"www.{listed}"]
    first = timed(cmd)
    later = [timed(cmd) for _ in range(args.calls)]
    no_state = [timed([*cmd, "--no-state"]) for _ in range(args.calls)]
    walls = [w for w, _ in later]
    cpus = [c for _, c in later]
    print(f"kidshield check, {args.domains:,} list rules, {args.calls} calls after the first\n")
    print(f"{'':34}{'wall s':>9}{'CPU s':>9}")
    print(f"{'first call (parse, save index)':34}{first[0]:>9.2f}{first[1]:>9.2f}")
    print(f"{'later calls, median':34}{statistics.median(walls):>9.2f}"
          f"{statistics.median(cpus):>9.2f}")
    print(f"{'later calls, slowest':34}{max(walls):>9.2f}{max(cpus):>9.2f}")
    print(f"{'later calls --no-state, median':34}"
          f"{statistics.median(w for w, _ in no_state):>9.2f}"
          f"{statistics.median(c for _, c in no_state):>9.2f}")
    print(f"\nlater / first: wall {statistics.median(walls) / first[0]:.2f}x, "
          f"CPU {statistics.median(cpus) / first[1]:.2f}x")


if __name__ == "__main__":
    main()
