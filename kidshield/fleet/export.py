"""``kidshield export rpz``: the zones and engine configurations in one folder.

Files are written next to their final name and renamed into place, zone files before the
configurations that name them, and ``manifest.json`` last, so an engine reloading at any moment
reads a complete set. A zone whose rules did not change keeps its serial (from the previous
manifest), so engines that pull transfer only what changed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kidshield.config import Config, own_helplines
from kidshield.fleet.engines import ENGINES, Source, zone_file_name
from kidshield.fleet.lists import ListNames, load_with_names
from kidshield.fleet.rpz import fingerprint, zone_body, zone_header
from kidshield.fleet.zones import DEFAULT_SUFFIX, BlockAnswer, FleetPolicy, build_policy
from kidshield.lists.loader import LoadResult
from kidshield.policy.catalog import default_catalog
from kidshield.policy.engine import PolicyEngine
from kidshield.profiles import compile_profiles, unrestricted_profile

MANIFEST = "manifest.json"


@dataclass(slots=True)
class ZoneInfo:
    origin: str
    file: str
    profiles: tuple[str, ...]
    rules: int
    serial: int
    digest: str
    note: str


@dataclass(slots=True)
class Export:
    policy: FleetPolicy
    zones: list[ZoneInfo] = field(default_factory=list)
    seconds: float = 0.0

    def manifest(self) -> dict[str, Any]:
        p = self.policy
        return {
            "generated_from_policy_at": p.at.isoformat(timespec="seconds"),
            "valid_until": p.valid_until.isoformat(timespec="seconds") if p.valid_until
            else None,
            "suffix": p.suffix,
            "profiles": p.profiles,
            "networks": [{"network": n.network, "profile": n.profile, "client": n.name}
                         for n in p.networks],
            "zones": [{"origin": z.origin, "file": z.file, "profiles": list(z.profiles),
                       "rules": z.rules, "serial": z.serial, "digest": z.digest, "note": z.note}
                      for z in self.zones],
            "engines": {name: [file for file, _f in files] for name, files in ENGINES.items()},
            "notes": p.notes,
        }


def policy_for(config: Config, now: datetime, block: BlockAnswer | None = None,
               suffix: str = DEFAULT_SUFFIX,
               loaded: tuple[LoadResult, ListNames] | None = None,
               block_host: str | None = None) -> FleetPolicy:
    """The fleet policy of ``config`` at ``now`` (lists read here unless given)."""
    catalog = default_catalog()
    catalog = catalog.with_helplines(own_helplines(config, catalog.helplines))
    # the engine is asked about safe-search hosts and service domains only
    asked = [*catalog.safe_hosts, *(d for s in catalog.services.values() for d in s.domains)]
    result, names = loaded or load_with_names(config, asked)
    engine = PolicyEngine(catalog, result.lists)
    return build_policy(config, catalog, engine, compile_profiles(config),
                        unrestricted_profile(config), names, now, block, suffix, block_host)


def _serial(previous: dict[str, Any], origin: str, digest: str, now: datetime) -> int:
    old = previous.get(origin)
    if old and old.get("digest") == digest:
        return int(old["serial"])
    base = int(now.timestamp()) & 0xFFFFFFFF
    return max(base, int(old["serial"]) + 1) if old else base


def _previous(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {z["origin"]: z for z in data.get("zones", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_replacing(path: Path, chunks: Sequence[str | bytes | memoryview] | str) -> int:
    """Write ``chunks`` (text as UTF-8) through a temporary file renamed over ``path``, so an
    engine or Unbound's module reading it sees the old file or the new one, never half of
    one; the bytes written."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        for chunk in [chunks] if isinstance(chunks, str) else chunks:
            fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        size = fh.tell()
    os.replace(tmp, path)
    return size


def write_export(policy: FleetPolicy, folder: Path, primary: tuple[str, int] | None = None,
                 engine_folder: Path | None = None) -> Export:
    """Write every zone, the engine configurations and the manifest into ``folder``.
    ``engine_folder``: where the engines will find the zone files (default: ``folder``)."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    previous = _previous(folder)
    export = Export(policy)
    for zone in policy.zones:
        origin = zone.origin(policy.suffix)
        body = list(zone_body(zone, policy))
        digest = fingerprint(zone, policy, body)
        serial = _serial(previous, origin, digest, policy.at)
        name = zone_file_name(zone, policy)
        write_replacing(folder / name, [zone_header(zone, policy, serial), *body])
        export.zones.append(ZoneInfo(origin, name, zone.profiles, len(zone), serial, digest,
                                     zone.note))
    source = Source((engine_folder or folder).absolute(), primary)
    for files in ENGINES.values():
        for file, render in files:
            write_replacing(folder / file, render(policy, source))
    export.seconds = time.perf_counter() - started
    write_replacing(folder / MANIFEST, json.dumps(export.manifest(), indent=2) + "\n")
    return export
