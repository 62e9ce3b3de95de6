"""kidshield's policy decided inside Unbound, by Unbound's Python module (python3-unbound).

``kidshield export unbound`` copies this file next to the policy file it writes and names that
file in ``POLICY_PATH``; Unbound runs it (``module-config: "python validator iterator"``) in
its own embedded interpreter (Debian's system Python). So it imports only the standard
library: not kidshield, not numpy (Debian's python3 has neither). The policy file is mapped,
never read whole: only the pages that lookups touch become resident, and they are shared
with the page cache.

The policy file (written by ``kidshield/fleet/unbound_export.py``, little-endian)::

    magic "KSUNBPOL" | u32 format | u32 header length | u64 entries | 16-byte hash key
    header: JSON (zones in kidshield's order of checks, client networks, block answer,
            safe hosts and their addresses, valid_until), padded to 8 bytes
    hashes: u64[entries], sorted: blake2b-64 of each rule's name, keyed with the key above
    values: (u16 zone, u16 target, u8 act, u8 subtree, u16 unused)[entries], in hash order

A name is decided as an RPZ engine decides over the same zones: the first zone (in order)
that applies to the client's profile and has a rule for the name or a parent wins; inside a
zone, the most specific rule. Then, as kidshield's answer check, an answer whose CNAME chain
(or HTTPS/SVCB TargetName) leads to a name blocked for the client is blocked. Only the misses
of Unbound's message cache reach this module, so a name whose answer may differ between
clients is never stored in that cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import mmap
import os
import struct
import sys
import time
from bisect import bisect_left
from typing import Any

POLICY_PATH: str | None = None  # set by kidshield export unbound when it copies this file
MAGIC = b"KSUNBPOL"
FORMAT = 1
PREFIX = struct.Struct("<8sIIQ16s")
VALUE = struct.Struct("<HHBBH")
BLOCK, NXDOMAIN, NODATA, PASSTHRU, REWRITE = 1, 2, 3, 4, 5
ACTS = {"block": BLOCK, "nxdomain": NXDOMAIN, "nodata": NODATA, "passthru": PASSTHRU,
        "rewrite": REWRITE}
NOWHERE = 1 << 30  # a zone index after every zone
CHECK_EVERY = 1.0  # seconds between looks at the policy file (a new export is re-mapped)
WARN_EVERY = 60.0  # seconds between warnings that the policy is past its valid_until


class PolicyError(Exception):
    """The policy file cannot be used (missing, truncated, another format)."""


def keyed(key: bytes) -> Any:
    """blake2b-64 keyed with ``key``: ``copy()`` it and ``update`` with a name (copying is
    three times faster than keying anew)."""
    return hashlib.blake2b(digest_size=8, key=key)


def name_hash(base: Any, name: str) -> int:
    """The 64-bit hash (``base``: from ``keyed``) of a lower-case name without the final
    dot."""
    digest = base.copy()
    digest.update(name.encode("ascii", "surrogateescape"))
    return int.from_bytes(digest.digest(), "little")


class PolicyFile:
    """A mapped policy file: which profile a client belongs to, and what a name gets."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as fh:
                self.stat = os.fstat(fh.fileno())
                self.map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise PolicyError(f"{path}: cannot map the policy file: {exc}") from None
        if len(self.map) < PREFIX.size:
            raise PolicyError(f"{path}: too short for a kidshield policy file")
        magic, fmt, header_len, entries, self.key = PREFIX.unpack_from(self.map, 0)
        if magic != MAGIC or fmt != FORMAT:
            raise PolicyError(f"{path}: not a kidshield policy file of format {FORMAT} "
                              "(export it again with this kidshield)")
        start = PREFIX.size + header_len + (-(PREFIX.size + header_len) % 8)
        if len(self.map) != start + 16 * entries:
            raise PolicyError(f"{path}: truncated ({len(self.map)} bytes, expected "
                              f"{start + 16 * entries})")
        self.base = keyed(self.key)
        self.header: dict[str, Any] = json.loads(bytes(self.map[PREFIX.size:
                                                                 PREFIX.size + header_len]))
        self.entries = entries
        self.values_at = start + 8 * entries
        view = memoryview(self.map)[start:start + 8 * entries]
        self.hashes = view.cast("Q") if sys.byteorder == "little" else _BigEndian(view)
        h = self.header
        self.valid_until: float | None = h["valid_until_epoch"]
        self.ttl = int(h["ttl"])
        self.block4: str | None = h["block"]["ipv4"]
        self.block6: str | None = h["block"]["ipv6"]
        self.targets: list[dict[str, Any]] = h["targets"]
        zones = h["zones"]
        self.zone_acts = [ACTS[z["act"]] for z in zones]
        self.helplines = next((i for i, z in enumerate(zones) if z["label"] == "helplines"),
                              NOWHERE - 1)
        # per profile: which zones apply (by index), and the first "every name" zone
        self.applies: dict[str, list[bool]] = {}
        self.everything: dict[str, int] = {}
        for tag in h["profiles"]:
            applies = [not z["tags"] or tag in z["tags"] for z in zones]
            self.applies[tag] = applies
            self.everything[tag] = next((i for i, z in enumerate(zones)
                                         if z["everything"] and applies[i]), NOWHERE)
        self.any_everything = any(z["everything"] for z in zones)
        self.networks = [(ipaddress.ip_network(n), tag) for n, tag in h["networks"]]
        self.by_address: dict[str, str | None] = {}

    def close(self) -> None:
        if isinstance(self.hashes, memoryview):
            self.hashes.release()
        with contextlib.suppress(BufferError):
            # a lookup still holds a view: the map closes when it is collected
            self.map.close()

    def profile(self, address: str) -> str | None:
        """The profile of a client address (most specific network first), or None."""
        try:
            return self.by_address[address]
        except KeyError:
            pass
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return None
        tag = next((t for net, t in self.networks if ip in net), None)
        if len(self.by_address) > 65536:
            self.by_address.clear()
        self.by_address[address] = tag
        return tag

    def rules(self, name: str) -> list[tuple[int, int, int]]:
        """(zone, act, target) of every rule that matches ``name`` (lower case, no final
        dot) or, for rules that cover their subtree, a name below it; longest name first."""
        out = []
        hashes, entries, base = self.hashes, self.entries, self.base
        probe, exact = name, True
        while probe:
            key = name_hash(base, probe)
            i = bisect_left(hashes, key)
            while i < entries and hashes[i] == key:
                zone, target, act, subtree, _ = VALUE.unpack_from(self.map,
                                                                  self.values_at + 8 * i)
                if exact or subtree:
                    out.append((zone, act, target))
                i += 1
            dot = probe.find(".")
            probe, exact = (probe[dot + 1:] if dot >= 0 else ""), False
        return out

    def decide(self, tag: str | None, rules: list[tuple[int, int, int]]) -> tuple[int, int]:
        """(act, target index + 1 or 0) for a client of profile ``tag`` asking a name with
        these ``rules``: the first zone (in order) that applies to the profile and has a
        rule wins; in that zone, the longest name."""
        act, target, _zone = self.decide_zone(tag, rules)
        return act, target

    def decide_zone(self, tag: str | None,
                    rules: list[tuple[int, int, int]]) -> tuple[int, int, int]:
        """``decide``, and the index of the deciding zone (NOWHERE when none)."""
        applies = self.applies.get(tag) if tag is not None else None
        if applies is None:
            return PASSTHRU, 0, NOWHERE
        best_zone = self.everything[tag]  # type: ignore[index]
        act, target = (self.zone_acts[best_zone], 0) if best_zone != NOWHERE else (PASSTHRU, 0)
        for zone, rule_act, rule_target in rules:
            if zone < best_zone and applies[zone]:
                best_zone, act, target = zone, rule_act, rule_target
        return act, target, best_zone

    def chain_blocked(self, tag: str | None, rules: list[tuple[int, int, int]],
                      chain: list[list[tuple[int, int, int]]]) -> bool:
        """Whether a client of ``tag`` whose question has ``rules`` must get the block
        answer because a name the answer leads to (CNAME, HTTPS/SVCB target; their rules in
        ``chain``) is blocked for it, as kidshield's answer check decides: a helpline stays
        reachable whatever its chain leads to."""
        if self.decide_zone(tag, rules)[2] == self.helplines:
            return False
        return any(self.decide(tag, target)[0] in (BLOCK, NXDOMAIN) for target in chain)

    def decide_name(self, tag: str | None, name: str) -> tuple[int, int]:
        return self.decide(tag, self.rules(name))

    def listed(self, rules: list[tuple[int, int, int]]) -> bool:
        """Whether some client's answer for a name with these ``rules`` may differ from
        another's (then it must not be cached)."""
        # any_everything: a profile's bedtime, nothing may come from the shared cache
        return bool(rules) or self.any_everything

    def expired(self, now: float) -> bool:
        return self.valid_until is not None and now >= self.valid_until


class _BigEndian:
    """The hash array read on a big-endian host (the file is little-endian)."""

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def __len__(self) -> int:
        return len(self.view) // 8

    def __getitem__(self, i: int) -> int:
        return int.from_bytes(self.view[8 * i:8 * i + 8], "little")


def wire_name(data: bytes, pos: int) -> str:
    """The uncompressed name at ``pos`` in record data (Unbound keeps rdata names
    uncompressed), lower case, without the final dot; "" for the root."""
    labels = []
    while pos < len(data) and data[pos]:
        length = data[pos]
        if length >= 0x40:
            raise ValueError("a compressed or extended label in record data")
        labels.append(data[pos + 1:pos + 1 + length].decode("ascii", "replace").lower())
        pos += 1 + length
    return ".".join(labels)


# -- Unbound's side ----------------------------------------------------------------------------
# Unbound runs this file as __main__ after ``from unboundmodule import *``; the names below
# come from there (ub.*), imported lazily so that kidshield and its tests can import the file.

class _State:
    policy: PolicyFile | None = None
    path = ""
    checked = 0.0
    warned = 0.0


state = _State()


def _ub() -> Any:
    import unboundmodule  # type: ignore[import-not-found]  # package python3-unbound

    return unboundmodule


def policy_path() -> str:
    path = os.environ.get("KIDSHIELD_UNBOUND_POLICY") or POLICY_PATH
    if not path:
        raise PolicyError("no policy file: set POLICY_PATH in this script (kidshield export "
                          "unbound does) or KIDSHIELD_UNBOUND_POLICY")
    return path


def _refresh(now: float) -> PolicyFile:
    """The policy, re-mapped when a new export was renamed into place; the last good one
    when the new file cannot be used (logged)."""
    current = state.policy
    assert current is not None
    if now - state.checked < CHECK_EVERY:
        return current
    state.checked = now
    try:
        st = os.stat(state.path)
        if (st.st_ino, st.st_mtime_ns) != (current.stat.st_ino, current.stat.st_mtime_ns):
            state.policy = PolicyFile(state.path)
            current.close()
            _ub().log_info(f"kidshield: reloaded {state.path} ({state.policy.entries:,} rules)")
    except (OSError, PolicyError, ValueError, KeyError) as exc:
        _ub().log_err(f"kidshield: keeping the policy in use: {exc}")
    policy = state.policy
    assert policy is not None
    _warn_if_expired(policy, now)
    return policy


def _warn_if_expired(policy: PolicyFile, now: float) -> None:
    """Say (at most every WARN_EVERY seconds) that the policy is past its valid_until."""
    if policy.expired(now) and now - state.warned >= WARN_EVERY:
        state.warned = now
        _ub().log_err(
            f"kidshield: the policy in {state.path} was valid until "
            f"{policy.header['valid_until']} and still applies: schedules that began since "
            "are not in force. Run 'kidshield export unbound' again (docs/fleet.md).")


def init_standard(id: int, env: Any) -> bool:
    ub = _ub()
    try:
        state.path = policy_path()
        state.policy = PolicyFile(state.path)
    except (PolicyError, ValueError, KeyError) as exc:
        ub.log_err(f"kidshield: {exc}")
        return False
    state.checked = time.time()
    ub.log_info(f"kidshield: {state.policy.entries:,} rules, {len(state.policy.applies)} "
                f"profiles, valid until {state.policy.header['valid_until']}")
    # at once, not at the first look a second later: a policy already past its time at start
    _warn_if_expired(state.policy, state.checked)
    return True


def deinit(id: int) -> bool:
    if state.policy is not None:
        state.policy.close()
        state.policy = None
    return True


def inform_super(id: int, qstate: Any, superqstate: Any, qdata: Any) -> bool:
    return True


def _clients(qstate: Any) -> list[str]:
    """The addresses waiting for this answer: Unbound gives one resolution to every client
    that asks the same question while it runs, whatever their profiles."""
    out = []
    reply = qstate.mesh_info.reply_list if qstate.mesh_info else None
    while reply:
        out.append(reply.query_reply.addr)
        reply = reply.next
    return out


def _strictest(policy: PolicyFile, rules: list[tuple[int, int, int]],
               addresses: list[str]) -> tuple[int, int]:
    """The first decision other than passthru among these clients': when a child and a
    parent share a resolution, both get the child's answer (the parent's next query, never
    cached, resolves again)."""
    for address in addresses:
        act, target = policy.decide(policy.profile(address), rules)
        if act != PASSTHRU:
            return act, target
    return PASSTHRU, 0


TYPE_CNAME, TYPE_SVCB, TYPE_HTTPS = 5, 64, 65


def _chain(rep: Any, name: str) -> list[str]:
    """The names an answer leads to besides the question: CNAME targets and the TargetName
    of HTTPS/SVCB records (where the client connects)."""
    ub = _ub()
    out: list[str] = []
    for i in range(rep.an_numrrsets):
        rrset = rep.rrsets[i]
        rtype = ub.ntohs(rrset.rk.type)
        if rtype not in (TYPE_CNAME, TYPE_SVCB, TYPE_HTTPS):
            continue
        data = rrset.entry.data
        for j in range(data.count):
            rdata = data.rr_data[j]  # with its 2-byte length
            target = wire_name(rdata, 2 if rtype == TYPE_CNAME else 4)
            if target and target != name and target not in out:
                out.append(target)
    return out


def _chain_check(id: int, qstate: Any, policy: PolicyFile, name: str,
                 rules: list[tuple[int, int, int]]) -> bool:
    """Block the answer (True) when its CNAME chain leads a waiting client to a name blocked
    for it. An answer whose chain reaches a listed name depends on the client: it is taken
    out of the cache the iterator just put it in."""
    msg = qstate.return_msg
    if msg is None or msg.rep is None or msg.rep.an_numrrsets == 0:
        return False
    try:
        targets = _chain(msg.rep, name)
    except (ValueError, IndexError) as exc:
        _ub().log_err(f"kidshield: cannot read the answer for {name}: {exc}")
        qstate.ext_state[id] = _ub().MODULE_ERROR  # fail closed: SERVFAIL
        return True
    chain = [r for r in map(policy.rules, targets) if r]
    if not chain:
        return False
    if not qstate.no_cache_store:
        _ub().invalidateQueryInCache(qstate, qstate.qinfo)
    for address in _clients(qstate):
        if policy.chain_blocked(policy.profile(address), rules, chain):
            _answer(id, qstate, policy, BLOCK, 0)
            return True
    return False


def _answer(id: int, qstate: Any, policy: PolicyFile, act: int, target: int) -> None:
    ub = _ub()
    q = qstate.qinfo
    owner = q.qname_str
    ttl = policy.ttl
    msg = ub.DNSMessage(owner, q.qtype, q.qclass, ub.PKT_QR | ub.PKT_RA | ub.PKT_AA)
    rcode = ub.RCODE_NOERROR
    if act == NXDOMAIN or (act == BLOCK and policy.block4 is None):
        rcode = ub.RCODE_NXDOMAIN
    elif act == BLOCK and q.qtype == ub.RR_TYPE_A:
        msg.answer.append(f"{owner} {ttl} IN A {policy.block4}")
    elif act == BLOCK and q.qtype == ub.RR_TYPE_AAAA and policy.block6:
        msg.answer.append(f"{owner} {ttl} IN AAAA {policy.block6}")
    elif act == REWRITE and target:
        safe = policy.targets[target - 1]
        msg.answer.append(f"{owner} {ttl} IN CNAME {safe['name']}.")
        kind = {ub.RR_TYPE_A: ("a", "A"), ub.RR_TYPE_AAAA: ("aaaa", "AAAA")}.get(q.qtype)
        if kind:
            for address in safe[kind[0]]:
                msg.answer.append(f"{safe['name']}. {ttl} IN {kind[1]} {address}")
    if not msg.set_return_msg(qstate):
        qstate.ext_state[id] = ub.MODULE_ERROR
        return
    qstate.return_rcode = rcode
    qstate.return_msg.rep.security = ub.sec_status_insecure  # ours, not signed data
    qstate.ext_state[id] = ub.MODULE_FINISHED


def operate(id: int, event: int, qstate: Any, qdata: Any) -> bool:
    ub = _ub()
    if event in (ub.MODULE_EVENT_NEW, ub.MODULE_EVENT_PASS, ub.MODULE_EVENT_MODDONE):
        if state.policy is None:
            qstate.ext_state[id] = ub.MODULE_ERROR
            return True
        policy = _refresh(time.time())
        name = qstate.qinfo.qname_str.rstrip(".").lower()
        rules = policy.rules(name) if name else []
        if policy.listed(rules):
            qstate.no_cache_store = 1  # decided per client: never served from the cache
            # on MODDONE: the clients that joined while the name resolved
            act, target = _strictest(policy, rules, _clients(qstate))
            if act != PASSTHRU:
                _answer(id, qstate, policy, act, target)
                return True
        done = event == ub.MODULE_EVENT_MODDONE
        if done and _chain_check(id, qstate, policy, name, rules):
            return True
        qstate.ext_state[id] = ub.MODULE_FINISHED if done else ub.MODULE_WAIT_MODULE
        return True
    qstate.ext_state[id] = ub.MODULE_ERROR
    return True
