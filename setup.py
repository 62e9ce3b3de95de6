"""Build hook: the DNS miss path compiled to C with mypyc (part of mypy) at install time.

A cache miss walks about thirty small functions in these modules; compiled, it costs about a
third less CPU (docs/performance.md, "Sixth round"). The code stays plain, `mypy --strict`
clean Python: without a C compiler, or with ``KIDSHIELD_MYPYC=0``, the same modules are
installed as Python and behave the same, only slower.

``KIDSHIELD_MYPYC``: ``0`` never compiles; ``1`` compiles editable installs too (the
extensions land next to the sources, where a stale one would shadow an edited ``.py``:
tests/test_native.py fails on that); unset compiles wheels and regular installs but not
editable ones, so a development checkout runs the Python it shows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent

# the modules every miss runs through; each is mypy --strict clean and neither subclassed nor
# patched by the tests (tests/test_native.py holds this list to what the install compiled).
# Not here: state/source.py (a test holds its maps' reads with a dict subclass, which
# compiled code reads past)
NATIVE = [
    "kidshield/dns/wire.py",
    "kidshield/dns/strict.py",
    "kidshield/dns/ready.py",
    "kidshield/dns/udpexchange.py",
    "kidshield/dns/server.py",
    "kidshield/dns/resolver.py",
    "kidshield/dns/upstream.py",
    "kidshield/dns/proxied.py",
    "kidshield/dns/ratelimit.py",
    "kidshield/dns/clienthints.py",
    "kidshield/dns/answers.py",
    "kidshield/dns/answerlog.py",
    "kidshield/dns/drillcanary.py",
    "kidshield/dns/pipeline/context.py",
    "kidshield/dns/pipeline/admission.py",
    "kidshield/dns/pipeline/special.py",
    "kidshield/dns/pipeline/policy.py",
    "kidshield/dns/pipeline/blocking.py",
    "kidshield/dns/pipeline/safesearch.py",
    "kidshield/dns/pipeline/direct.py",
    "kidshield/dns/pipeline/check.py",
    "kidshield/dns/pipeline/finish.py",
    "kidshield/dns/pipeline/forward.py",
    "kidshield/dns/cache.py",
    "kidshield/policy/domains.py",
    "kidshield/policy/engine.py",
    "kidshield/policy/schedule.py",
    "kidshield/state/localday.py",
]


def _say(message: str) -> None:
    print(f"kidshield build: {message}", file=sys.stderr)


def _drop_compiled() -> None:
    """A pure-Python editable install removes the modules an earlier one compiled next to
    the sources: Python imports an extension before the .py beside it, however stale."""
    for built in (ROOT / "kidshield").rglob("*.so"):
        if (built.parent / (built.name.split(".", 1)[0] + ".py")).is_file():
            built.unlink()  # also one of a module no longer in NATIVE
    for group in ROOT.glob("*__mypyc.*.so"):
        group.unlink()


# the commands that build code; pip also runs setup.py for metadata alone (egg_info,
# dist_info), where mypyc's minutes would be spent for nothing
BUILDS = {"bdist_wheel", "build", "build_ext", "editable_wheel", "install", "develop"}


def ext_modules() -> list[object]:
    if not BUILDS & set(sys.argv[1:]):
        return []
    choice = os.environ.get("KIDSHIELD_MYPYC", "").strip()
    if choice == "0":
        _say("KIDSHIELD_MYPYC=0: the DNS miss path is installed as pure Python")
        if "editable_wheel" in sys.argv:
            _drop_compiled()
        return []
    if "editable_wheel" in sys.argv and choice != "1":
        _say("editable install: pure Python (KIDSHIELD_MYPYC=1 compiles it in place)")
        _drop_compiled()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc (part of mypy) is not installed: the DNS miss path stays pure Python "
             "(slower; pip install mypy and reinstall to compile it)")
        return []
    try:
        # no config file: the build environment need not hold the project's dependencies
        # or mypy plugins; only the listed modules are checked, the rest is followed silently.
        # Not --strict: pip builds in a fresh environment before the dependencies are
        # installed, so their types are Any there, and --strict's return-Any check made every
        # first install fall back to Python; strictness is the project's own mypy run's job
        exts = mypycify(["--config-file=", "--follow-imports=silent",
                         "--ignore-missing-imports", *NATIVE], opt_level="3")
    except (Exception, SystemExit) as exc:  # a mypyc failure must not stop the install
        _say(f"mypyc could not compile the DNS miss path ({exc!r}): pure Python instead")
        return []
    for ext in exts:
        ext.optional = True  # no C compiler: build_ext warns and the .py files are used
    return list(exts)


setup(ext_modules=ext_modules())
