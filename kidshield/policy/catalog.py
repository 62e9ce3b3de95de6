"""Shipped data the engine consults: services, safe-search engines, bypass tools, helplines.

Helplines are read by ``helpline_data.py`` and chosen for a child by ``helplines.py``.

The data lives in ``policy/data/*.toml`` (with sources and licence in each file's header); this
module only turns it into lookup structures.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kidshield.errors import KidshieldError
from kidshield.policy.domains import SuffixMap, normalize_name
from kidshield.policy.helpline_data import merge, read_file
from kidshield.policy.helplines import Helpline

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    group: str
    domains: tuple[str, ...]
    min_age: int | None = None


@dataclass(frozen=True, slots=True)
class SafeSearchEngine:
    id: str
    name: str
    setting: str  # "search" or "youtube": which profile setting controls it
    hosts: frozenset[str]
    strict: str
    moderate: str


class Catalog:
    def __init__(
        self,
        services: list[Service],
        engines: list[SafeSearchEngine],
        unsupported: list[tuple[str, str, tuple[str, ...]]],
        bypass: list[tuple[str, str, tuple[str, ...]]],
        helplines: list[Helpline],
    ) -> None:
        self.services = {s.id: s for s in services}
        self.service_index: SuffixMap[str] = SuffixMap(
            (d, s.id) for s in services for d in s.domains
        )
        self.engines = {e.id: e for e in engines}
        self.safe_hosts: dict[str, SafeSearchEngine] = {}
        for engine in engines:
            for host in engine.hosts:
                self.safe_hosts.setdefault(host, engine)
        self.unsupported: SuffixMap[str] = SuffixMap(
            (d, name) for _id, name, domains in unsupported for d in domains
        )
        self.bypass_groups = {gid: name for gid, name, _ in bypass}
        self.bypass: SuffixMap[str] = SuffixMap(
            (d, gid) for gid, _name, domains in bypass for d in domains
        )
        self.helplines = helplines
        self.helpline_index: SuffixMap[Helpline] = SuffixMap(
            (d, h) for h in helplines for d in h.domains
        )

    def services_in_groups(self, groups: frozenset[str]) -> set[str]:
        return {s.id for s in self.services.values() if s.group in groups}

    def services_over_age(self, age: int, groups: frozenset[str] | None = None) -> set[str]:
        """Services whose own terms require an age above ``age`` (within ``groups``)."""
        return {
            s.id for s in self.services.values()
            if s.min_age is not None and s.min_age > age and (groups is None or s.group in groups)
        }

    def with_helplines(self, own: list[Helpline]) -> Catalog:
        """This catalog with an operator's own helplines added (an entry with a shipped id
        replaces that entry). Everything else is shared, not copied."""
        if not own:
            return self
        clone = copy(self)
        clone.helplines = merge(self.helplines, own)
        clone.helpline_index = SuffixMap((d, h) for h in clone.helplines for d in h.domains)
        return clone


def _read(name: str, data_dir: Path) -> dict[str, Any]:
    path = data_dir / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise KidshieldError(f"{path}: shipped data file is broken: {exc}") from exc


def _domains(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_name(d) for d in items))


def load_catalog(data_dir: Path = DATA_DIR,
                 read_helplines: Callable[[Path], list[Helpline]] = read_file) -> Catalog:
    """``read_helplines``: how the helplines file is read and checked (``catalog_cache.py``
    keeps the checked entries of an unchanged file)."""
    ss = _read("safesearch.toml", data_dir)
    engines = [
        SafeSearchEngine(
            id=e["id"],
            name=e["name"],
            setting=e.get("setting", "search"),
            hosts=frozenset(_domains(e["hosts"])),
            strict=e["strict"],
            moderate=e.get("moderate", e["strict"]),
        )
        for e in ss.get("engine", [])
    ]
    unsupported = [
        (u["id"], u["name"], _domains(u["domains"])) for u in ss.get("unsupported", [])
    ]
    services = [
        Service(
            id=s["id"],
            name=s["name"],
            group=s.get("group", "other"),
            domains=_domains(s["domains"]),
            min_age=s.get("min_age"),
        )
        for s in _read("services.toml", data_dir).get("service", [])
    ]
    bypass = [
        (g["id"], g["name"], _domains(g["domains"]))
        for g in _read("bypass.toml", data_dir).get("group", [])
    ]
    helplines = read_helplines(data_dir / "helplines.toml")
    return Catalog(services, engines, unsupported, bypass, helplines)


@cache
def default_catalog() -> Catalog:
    return load_catalog()
