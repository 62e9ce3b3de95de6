"""The process of ``kidshield serve``: process settings, then the application until it stops.

The command line (``cli.py``, typer) checks the options and starts the process again with the
settings below and the options in ``OPTIONS``; ``launch.py`` hands that process straight to
``main`` here. So the resolver never imports typer, click or rich, which it would hold for as
long as it runs (docs/performance.md, "Process settings").
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from kidshield.launch import restart_with_seed
from kidshield.process import GC_THRESHOLD, SERVE_ENVIRONMENT, SWITCH_INTERVAL, without_httpx_cli

if TYPE_CHECKING:
    from kidshield.app import Application

# the checked options, from the command line to the process it starts (removed there, so no
# child process inherits them)
OPTIONS = "KIDSHIELD_SERVE_OPTIONS"


def restart(config_path: Path, web: bool, workers: int, verbose: bool) -> NoReturn:
    """Start the process again as ``main`` with these options, with a known (random,
    private) string hash seed, so the list index can be built in a child process and shared
    by mapping its file (kidshield/lists/isolated.py), and with the allocator settings above
    (glibc reads them only at start)."""
    seed = os.environ.get("PYTHONHASHSEED", "")
    if not (seed.isdigit() and seed != "0"):
        import secrets

        seed = str(secrets.randbelow(2**32 - 1) + 1)
    for name, value in SERVE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ[OPTIONS] = json.dumps({"config": str(config_path), "web": web,
                                      "workers": workers, "verbose": verbose})
    restart_with_seed(seed)


def main() -> None:
    """The restarted process (``launch.py``): run until SIGTERM or SIGINT; a configuration
    that fails to load is one ``error:`` line and exit status 2, as from the command line."""
    import logging

    from kidshield.errors import KidshieldError

    without_httpx_cli()
    options = json.loads(os.environ.pop(OPTIONS))
    logging.basicConfig(
        level=logging.DEBUG if options["verbose"] else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        run(Path(options["config"]), bool(options["web"]), int(options["workers"]))
    except KidshieldError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(config_path: Path, web: bool, workers: int = 1) -> None:
    import asyncio
    import gc

    from kidshield.app import Application
    from kidshield.policy.domains import release_free_memory

    sys.setswitchinterval(SWITCH_INTERVAL)

    def ready(application: Application) -> None:
        # Everything built at start stays: the collector need not walk it again.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        release_free_memory()  # start-up temporaries back to the OS
        for proto, host, port in application.bound:
            if proto in ("http", "https"):
                where = "" if application.config.metrics.listen else " (metrics at /metrics)"
                _say(f"web: {proto}://{host}:{port}/{where}")
            else:
                _say(f"listening: {proto} {host}:{port}")
        if application.workers > 1:
            _say(f"workers: {application.workers} DNS processes")

    application = Application.from_file(config_path, web=web, workers=workers)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(application.run(ready))
    else:
        uvloop.run(application.run(ready))
