"""The DNS miss path as the install built it: compiled by mypyc (setup.py) or pure Python, and
never a compiled module that is not the source beside it (Python imports an extension module
before the .py of the same name, so a stale one would hide every later edit)."""

from __future__ import annotations

import ast
import importlib
import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _native() -> list[str]:
    """setup.py's NATIVE list, read without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "NATIVE" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    raise AssertionError("setup.py has no NATIVE list")


def _compiled_beside(source: Path) -> list[Path]:
    return [p for p in source.parent.glob(source.stem + ".*")
            if any(p.name.endswith(s) for s in EXTENSION_SUFFIXES)]


def test_the_native_list_names_existing_modules_of_the_package() -> None:
    native = _native()
    assert native, "setup.py compiles nothing"
    for path in native:
        assert (ROOT / path).is_file(), f"setup.py NATIVE: {path} does not exist"
        assert path.startswith("kidshield/") and path.endswith(".py")


def test_no_compiled_module_is_older_than_its_source_or_left_from_another_list() -> None:
    native = {ROOT / p for p in _native()}
    stale = []
    for built in (ROOT / "kidshield").rglob("*"):
        if not any(built.name.endswith(s) for s in EXTENSION_SUFFIXES):
            continue
        source = built.parent / (built.name.split(".", 1)[0] + ".py")
        if source not in native:
            stale.append(f"{built.relative_to(ROOT)}: not in setup.py's NATIVE list")
        elif built.stat().st_mtime < source.stat().st_mtime:
            stale.append(f"{built.relative_to(ROOT)}: older than {source.name}")
    assert not stale, ("compiled modules that hide their source (rebuild with "
                       "`KIDSHIELD_MYPYC=1 pip install --no-deps --no-build-isolation -e .`, "
                       "or drop them with `KIDSHIELD_MYPYC=0 pip install --no-deps -e .`): "
                       + "; ".join(stale))


def test_the_miss_path_runs_compiled_when_the_install_compiled_it() -> None:
    # scripts/test compiles in place and sets KIDSHIELD_MYPYC=1; a plain editable install is
    # pure Python and this test has nothing to hold
    if os.environ.get("KIDSHIELD_MYPYC") != "1":
        pytest.skip("KIDSHIELD_MYPYC is not 1: the pure-Python install is under test")
    missing = []
    for path in _native():
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        origin = module.__file__ or ""
        if not any(origin.endswith(s) for s in EXTENSION_SUFFIXES):
            missing.append(f"{path} (loaded from {origin})")
    assert not missing, f"not compiled: {missing}"


def test_no_exception_name_is_bound_to_two_types_in_one_compiled_function() -> None:
    # mypyc gives a local one type, the first it is bound to: `except WireError as exc` and
    # later `except OSError as exc` in one function raise TypeError when the OSError comes
    # (UdpExchange.send on a refused port, strict_answer on an answer dnspython refuses),
    # where the Python install raises the error the caller handles
    reused = []
    for path in _native():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            types: dict[str, set[str]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and node.name:
                    caught = ast.unparse(node.type) if node.type else "BaseException"
                    types.setdefault(node.name, set()).add(caught)
            reused += [f"{path}: {function.name}: {name} ({', '.join(sorted(caught))})"
                       for name, caught in types.items() if len(caught) > 1]
    assert not reused, f"one name for exceptions of different types: {reused}"
