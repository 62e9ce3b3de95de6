"""The package boundaries of docs ARCHITECTURE: pure code imports no I/O layer, the resolver
never imports the web server, and only the command line reaches the composition root.

Imports are read from the source (every ``import``, also inside functions and under
``TYPE_CHECKING``), and followed from module to module, so a rule cannot be dodged by
importing through a third module."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "kidshield"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


@cache
def direct_imports(module: str) -> frozenset[str]:
    """The kidshield modules ``module`` names in any import statement."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from kidshield import web" names the module kidshield.web
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return frozenset(found)


def reachable(module: str) -> dict[str, str]:
    """Every kidshield module ``module`` imports directly or through others, with the module
    that imports it (to say how a forbidden import is reached)."""
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in direct_imports(current):
            if name not in seen and name != module:
                seen[name] = current
                todo.append(name)
    return seen


def _path(module: str, target: str, via: dict[str, str]) -> str:
    chain = [target]
    while chain[-1] != module and chain[-1] in via:
        chain.append(via[chain[-1]])
    return " <- ".join(chain)


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


RULES = [
    # (modules under, may not reach, why)
    (("kidshield.policy", "kidshield.safety"),
     ("kidshield.dns", "kidshield.web", "kidshield.storage"),
     "pure code: decisions and scores take their inputs as arguments"),
    (("kidshield.dns",), ("kidshield.web",), "the resolver runs without the web server"),
]


@pytest.mark.parametrize(("owners", "forbidden", "why"), RULES,
                         ids=["policy-and-safety-are-pure", "dns-does-not-import-web"])
def test_package_boundaries(owners: tuple[str, ...], forbidden: tuple[str, ...],
                            why: str) -> None:
    broken = []
    for module in sorted(m for m in MODULES if _in(m, owners)):
        via = reachable(module)
        broken += [_path(module, target, via) for target in sorted(via)
                   if _in(target, forbidden)]
    assert not broken, f"{why}:\n" + "\n".join(broken)


def test_only_the_server_entry_imports_the_composition_root() -> None:
    # `kidshield serve` checks its options in cli.py and starts again into serving.py, which
    # alone builds the Application (so the server process holds no command-line libraries)
    importers = sorted(m for m in MODULES if "kidshield.app" in direct_imports(m))
    assert importers == ["kidshield.serving"]


def test_the_rules_see_imports_inside_functions() -> None:
    # the checker itself must be able to fail: a function-level import is found
    assert "kidshield.storage.db" in direct_imports("kidshield.cli")
    assert any(_in(m, ("kidshield.web",)) for m in reachable("kidshield.app"))
