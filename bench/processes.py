"""Server processes the benchmarks start (Unbound, dnsmasq, ``kidshield serve``, helpers):
shared by bench/dns, bench/unbound_pymod.py and bench/serve_rss.py, which put this folder on
``sys.path`` (run as scripts, as docs/performance.md shows)."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """SIGTERM, as systemd stops a server (kidshield flushes its log), then SIGKILL if it has
    not exited within ``timeout`` seconds; reaped either way, so no zombie is left behind
    the next run."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
