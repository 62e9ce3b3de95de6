"""Names browsers only open over HTTPS (the HSTS-preloaded top-level domains and public
suffixes, ``data/https_only.txt``). Pure: the data is read once, names are matched by suffix.
The resolver uses it to let a browser fail fast on a blocked name whose block page could not
show (docs/web.md, "Block page over HTTPS")."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "https_only.txt"


@cache
def suffixes() -> frozenset[str]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def is_https_only(name: str, known: frozenset[str] | None = None) -> bool:
    """True when ``name`` (normalised, no trailing dot) is under an HTTPS-only suffix."""
    known = suffixes() if known is None else known
    labels = name.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in known for i in range(len(labels)))
