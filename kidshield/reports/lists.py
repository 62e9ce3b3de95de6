"""kidshield's own lists changed by decisions: an under-blocking report can add a domain to the
reports block list, an over-blocking report to the reports allow list. One domain a line, in
the data folder, in the ``domains`` list format (so ``[[lists]]`` can load them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kidshield.policy.domains import normalize_name

HEADER = "# kidshield reports {kind} list: written by case decisions (see the case audit trail)\n"


@dataclass(frozen=True, slots=True)
class OwnLists:
    block_list: Path
    allow_list: Path

    @classmethod
    def in_folder(
        cls, data_dir: Path, block: str = "reports-block.txt", allow: str = "reports-allow.txt"
    ) -> OwnLists:
        return cls(data_dir / block, data_dir / allow)


def read_domains(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _write(path: Path, kind: str, domains: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(HEADER.format(kind=kind) + "".join(f"{d}\n" for d in domains), "utf-8")
    os.replace(tmp, path)  # readers see the old or the new file, never half of one


def add_domain(path: Path, domain: str, kind: str) -> bool:
    """Add ``domain`` to the list file; False when it was already there."""
    name = normalize_name(domain)
    domains = read_domains(path)
    if name in domains:
        return False
    _write(path, kind, [*domains, name])
    return True


def remove_domain(path: Path, domain: str, kind: str) -> bool:
    name = normalize_name(domain)
    domains = read_domains(path)
    if name not in domains:
        return False
    _write(path, kind, [d for d in domains if d != name])
    return True
