"""Ending the real processes tests start (servers, Unbound, dnsdist, uvicorn)."""

from __future__ import annotations

import subprocess
from typing import Any


def end(proc: subprocess.Popen[Any], timeout: float = 10) -> int:
    """SIGTERM, then SIGKILL if it has not gone within ``timeout``; closes its stderr pipe so
    no test leaks a file descriptor. Returns the exit code."""
    proc.terminate()
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(5)
    if proc.stderr is not None:
        proc.stderr.close()
    return code
