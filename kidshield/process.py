"""Process-wide settings shared by the server (``serving.py``) and its DNS worker processes
(``dns/worker.py``). Imports nothing from kidshield, so a worker can use them without pulling in
the web application; ``python_m`` is how any kidshield process starts another.
"""

from __future__ import annotations

import sys

# Process tuning (docs/performance.md, "Process settings"). These are the only environment
# variables kidshield sets; the user may set them first to override.
SERVE_ENVIRONMENT = {
    # threads share heaps: less memory
    "MALLOC_ARENA_MAX": "2",
    # large buffers (the per-second answer lists at high rates) always get their own mapping
    # and go back to the OS when freed; glibc's sliding threshold would keep them
    "MALLOC_MMAP_THRESHOLD_": "131072",
}
# The log writer thread must hand the interpreter back to the event loop quickly, or answers
# wait for it (Python's default switch interval is 5 ms).
SWITCH_INTERVAL = 0.0005
# Answers make little cyclic garbage: fewer, cheaper collections keep latency even.
GC_THRESHOLD = (50_000, 20, 100)


def without_httpx_cli() -> None:
    """Keep httpx from importing its command-line client in this process. ``import httpx``
    imports it (click, rich and pygments) whenever they are installed, as they are here for
    kidshield's own command line (encode/httpx#3547, open; httpx2 imports it lazily); its
    fallback for a client that cannot be imported is what a server wants. Call before
    anything imports httpx."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def python_m(module: str) -> list[str]:
    """``python -m module`` for kidshield's own processes, with ``-P``: the folder it is run
    from is not put first on the import path, so the installed kidshield is the one that
    runs. Without it ``scripts/serve``, which runs from the checkout, served the checkout's
    plain-Python sources instead of the compiled install, and a file in the current folder
    named like any module (``secrets.py``) would have been imported in its place."""
    return [sys.executable, "-P", "-m", module]
