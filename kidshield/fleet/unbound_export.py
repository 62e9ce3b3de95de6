"""``kidshield export unbound``: the policy for Unbound's Python module, in one folder.

RPZ costs Unbound about 1.2 kB per listed name (docs/performance.md): a million names need
more than a gigabyte and a minute to load. Here the same zones (``zones.py``, in the same
order) become one file of 16 bytes per rule that the module (``unbound_module.py``, copied
into the folder) maps and searches itself:

* ``kidshield-policy.bin``: the rules, keyed by a blake2b hash whose key is in the file's
  header (so Unbound's interpreter and kidshield agree whatever their hash seeds), and a JSON
  header with the zones, client networks, block answer, safe hosts' addresses and
  ``valid_until``;
* ``kidshield_unbound.py``: the module, naming that file;
* ``unbound.conf``: an include for Unbound's configuration (``module-config``,
  ``python-script``, the networks kidshield serves);
* ``unbound-systemd.conf``: the environment Debian's Unbound needs to find python3-unbound.

Safe search answers carry the safe host's addresses (stub resolvers do not follow a lone
CNAME): kidshield resolves the few safe hosts through its configured upstreams at export time,
as its own server does when it answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kidshield.fleet.engines import _q
from kidshield.fleet.export import write_replacing
from kidshield.fleet.unbound_module import ACTS, FORMAT, MAGIC, PREFIX, keyed
from kidshield.fleet.zones import CHILD_PAGE, Act, FleetPolicy

POLICY_FILE = "kidshield-policy.bin"
SCRIPT_FILE = "kidshield_unbound.py"
CONFIG_FILE = "unbound.conf"
SYSTEMD_FILE = "unbound-systemd.conf"
# Debian's unbound does not look in dist-packages for unboundmodule.py (python3-unbound)
DEBIAN_DIST = "/usr/lib/python3/dist-packages"
VALUES = np.dtype([("zone", "<u2"), ("target", "<u2"), ("act", "u1"), ("subtree", "u1"),
                   ("unused", "<u2")])
ACT_CODES = {act: ACTS[act.value] for act in Act}  # the module's own numbering


@dataclass(frozen=True, slots=True)
class SafeHost:
    """A safe-search host and the addresses its rewrites answer with."""

    name: str
    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()


@dataclass(slots=True)
class UnboundExport:
    policy: FleetPolicy
    rules: int = 0
    bytes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def safe_targets(policy: FleetPolicy) -> list[str]:
    """The safe hosts the policy rewrites to, in a stable order."""
    return sorted({r.target for z in policy.zones for r in z.rules
                   if r.act is Act.REWRITE and r.target})


def resolve_safe_hosts(upstreams: list[str], names: Iterable[str],
                       timeout: float) -> tuple[dict[str, SafeHost], list[str]]:
    """The A and AAAA addresses of each safe host from kidshield's upstreams, and a note for
    each host that got none (its rewrites then answer with the CNAME alone)."""
    return asyncio.run(_resolve_all(upstreams, list(names), timeout))


async def _resolve_all(upstreams: list[str], names: list[str],
                       timeout: float) -> tuple[dict[str, SafeHost], list[str]]:
    import dns.message
    import dns.rdatatype

    from kidshield.dns.upstream import UpstreamError, UpstreamPool, parse_upstream

    pool = UpstreamPool([parse_upstream(u) for u in upstreams], timeout)

    async def ask(name: str, rdtype: dns.rdatatype.RdataType) -> tuple[str, ...] | str:
        query = dns.message.make_query(name, rdtype)
        try:
            answer, _shape, _up = await pool.resolve(query.to_wire())
            message = dns.message.from_wire(answer)
        except (UpstreamError, OSError, ValueError, dns.exception.DNSException) as exc:
            return str(exc) or type(exc).__name__
        return tuple(sorted({r.to_text() for rrset in message.answer
                             if rrset.rdtype == rdtype for r in rrset}))

    try:
        results = await asyncio.gather(*(ask(n, t) for n in names
                                         for t in (dns.rdatatype.A, dns.rdatatype.AAAA)))
    finally:
        await pool.close()
    hosts: dict[str, SafeHost] = {}
    notes = []
    for i, name in enumerate(names):
        a, aaaa = results[2 * i], results[2 * i + 1]
        v4 = a if isinstance(a, tuple) else ()
        v6 = aaaa if isinstance(aaaa, tuple) else ()
        hosts[name] = SafeHost(name, v4, v6)
        if not v4 and not v6:
            why = a if isinstance(a, str) else "no addresses"
            notes.append(f"safe search: {name} could not be resolved through the upstreams "
                         f"({why}): its rewrites answer with the CNAME alone, which many "
                         "devices do not follow; export again when the upstreams answer")
    return hosts, notes


def _hashes(key: bytes, names: list[str]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """``name_hash`` of each name (the module's), as one array."""
    base = keyed(key)

    def digest(name: str) -> bytes:
        h = base.copy()
        h.update(name.encode("ascii", "surrogateescape"))
        return h.digest()  # type: ignore[no-any-return]

    return np.frombuffer(b"".join(map(digest, names)), dtype="<u8")


def policy_bytes(policy: FleetPolicy, hosts: dict[str, SafeHost],
                 key: bytes) -> tuple[list[bytes | memoryview], int]:
    """The policy file's content (in parts) and its number of rules."""
    targets = safe_targets(policy)
    target_ids = {name: i + 1 for i, name in enumerate(targets)}
    hash_parts = []
    value_parts = []
    for z, zone in enumerate(policy.zones):
        names = list(zone.names)
        if zone.rules:
            names = [*names, *(r.name for r in zone.rules)]
        if not names:
            continue
        values = np.zeros(len(names), dtype=VALUES)
        values["zone"] = z
        values["act"] = ACT_CODES[zone.act]
        values["subtree"] = 1
        first_rule = len(zone.names)
        for i, rule in enumerate(zone.rules, first_rule):
            values["act"][i] = ACT_CODES[rule.act]
            values["subtree"][i] = int(rule.subtree)
            values["target"][i] = target_ids.get(rule.target or "", 0)
        hash_parts.append(_hashes(key, names))
        value_parts.append(values)
    hashes = np.concatenate(hash_parts) if hash_parts else np.zeros(0, dtype="<u8")
    values = np.concatenate(value_parts) if value_parts else np.zeros(0, dtype=VALUES)
    # stable: rules of one name stay in zone order
    order = np.argsort(hashes, kind="stable")
    hashes, values = hashes[order], values[order]
    header = json.dumps(_header(policy, targets, hosts), separators=(",", ":")).encode()
    prefix = PREFIX.pack(MAGIC, FORMAT, len(header), len(hashes), key)
    pad = b"\0" * (-(len(prefix) + len(header)) % 8)
    return [prefix, header, pad, hashes.astype("<u8").data, values.data], len(hashes)


def _header(policy: FleetPolicy, targets: list[str],
            hosts: dict[str, SafeHost]) -> dict[str, Any]:
    until = policy.valid_until
    return {
        "at": policy.at.isoformat(timespec="seconds"),
        "valid_until": until.isoformat(timespec="seconds") if until else None,
        "valid_until_epoch": until.timestamp() if until else None,
        "ttl": policy.ttl,
        "block": {"ipv4": policy.block.ipv4, "ipv6": policy.block.ipv6},
        "profiles": sorted(policy.profiles),
        "networks": [[n.network, n.profile] for n in policy.networks],
        "zones": [{"label": z.label, "tags": list(z.profiles), "act": z.act.value,
                   "everything": z.everything, "rules": len(z)} for z in policy.zones],
        "targets": [{"name": t, "a": list(hosts.get(t, SafeHost(t)).a),
                     "aaaa": list(hosts.get(t, SafeHost(t)).aaaa)} for t in targets],
        "notes": policy.notes,
    }


def unbound_conf(policy: FleetPolicy, script: Path) -> str:
    """The include for unbound.conf: the module, and the networks kidshield serves."""
    until = (policy.valid_until.isoformat(timespec="seconds") if policy.valid_until
             else "the configuration or the lists change")
    lines = [
        "# kidshield policy for Unbound's Python module: add `include: <this file>` to",
        "# unbound.conf, and give Unbound the environment in unbound-systemd.conf",
        f"# generated from the policy at {policy.at.isoformat(timespec='seconds')}",
        f"# valid until {until}: export again then (docs/fleet.md)",
        *(f"# note: {n}" for n in policy.notes),
        "server:",
        # the module decides before the validator, so its own answers are not validated
        '    module-config: "python validator iterator"',
    ]
    if any(r.name == CHILD_PAGE for z in policy.zones for r in z.rules):
        # Unbound answers home.arpa itself (RFC 8375) before any module: let the child page
        lines.append(f"    local-zone: {_q(CHILD_PAGE + '.')} transparent")
    for net in policy.networks:
        lines.append(f"    access-control: {net.network} allow  # {net.name} -> {net.profile}")
    lines += ["python:", f"    python-script: {_q(str(script))}", ""]
    return "\n".join(lines)


SYSTEMD = f"""# kidshield: the environment Debian's Unbound needs for its Python module
# (python3-unbound puts unboundmodule.py where Unbound's interpreter does not look).
# Install with
#   mkdir -p /etc/systemd/system/unbound.service.d
#   cp unbound-systemd.conf /etc/systemd/system/unbound.service.d/kidshield.conf
#   systemctl daemon-reload && systemctl restart unbound
# and run unbound-checkconf as PYTHONPATH={DEBIAN_DIST} unbound-checkconf.
[Service]
Environment=PYTHONPATH={DEBIAN_DIST}
"""


def module_script(policy_path: Path) -> str:
    """The module, naming the policy file Unbound will map."""
    text = resources.files("kidshield.fleet").joinpath("unbound_module.py").read_text("utf-8")
    marker = "POLICY_PATH: str | None = None"
    if marker not in text:
        raise RuntimeError("unbound_module.py lost its POLICY_PATH line")
    return text.replace(marker, f"POLICY_PATH: str | None = {str(policy_path)!r}", 1)


def write_unbound_export(policy: FleetPolicy, folder: Path, hosts: dict[str, SafeHost],
                         engine_folder: Path | None = None) -> UnboundExport:
    """Write the policy file, the module and Unbound's include into ``folder``; the module
    and the include name the files where Unbound will find them (``engine_folder``, default
    ``folder``). The policy file is renamed into place first: a running module re-maps it
    within a second, no reload needed."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    where = (engine_folder or folder).absolute()
    parts, rules = policy_bytes(policy, hosts, os.urandom(16))
    export = UnboundExport(policy, rules)
    export.bytes = write_replacing(folder / POLICY_FILE, parts)
    write_replacing(folder / SCRIPT_FILE, module_script(where / POLICY_FILE))
    write_replacing(folder / CONFIG_FILE, unbound_conf(policy, where / SCRIPT_FILE))
    write_replacing(folder / SYSTEMD_FILE, SYSTEMD)
    export.seconds = time.perf_counter() - started
    return export
