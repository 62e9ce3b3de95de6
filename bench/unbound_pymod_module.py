"""Unbound Python module for bench/unbound_pymod.py: kidshield's policy decided inside Unbound.

Unbound runs this file (``python-script:``, ``module-config: "python iterator"``) in its own
embedded interpreter (Debian's libpython3.11). It maps the policy that bench/unbound_pymod.py
exported into a folder named by ``KIDSHIELD_POLICY``:

* ``index.idx``: kidshield's own ``DomainIndex`` of every list (64-bit name hashes, mapped,
  never read whole: only the pages that lookups touch become resident);
* ``policy.json``: client networks -> profile tag, and the zones of ``FleetPolicy`` in
  kidshield's order of checks; category zones refer to index category ids, the small zones
  (special names, helplines, own allow lists, bypass, time, safe search, services, allow-list
  exceptions) carry their names.

The index holds Python string hashes, so Unbound must run with the exporter's
``PYTHONHASHSEED`` (the index refuses a file from another seed). ``KIDSHIELD_PATH`` lists the
folders to put on ``sys.path`` (the checkout and the venv's site-packages, for ``idna``).

A query is decided when it reaches this module, that is on a miss of Unbound's message cache:
so a listed name is never stored in that cache (``no_cache_store``), else a child would get
from the cache what an unprotected client's query put there.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from typing import Any

import unboundmodule as ub  # type: ignore[import-not-found]  # package python3-unbound

sys.path[:0] = [p for p in os.environ.get("KIDSHIELD_PATH", "").split(os.pathsep) if p]

from kidshield.policy.domains import DomainIndex  # noqa: E402  (after the path is set)

BLOCK, NXDOMAIN, NODATA, PASSTHRU, REWRITE = "block", "nxdomain", "nodata", "passthru", "rewrite"


class Policy:
    def __init__(self, folder: str) -> None:
        self.index = DomainIndex.load(os.path.join(folder, "index.idx"))
        with open(os.path.join(folder, "policy.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        self.networks = [(ipaddress.ip_network(n), tag) for n, tag in data["networks"]]
        self.by_address: dict[str, str | None] = {}
        self.block4: str | None = data["block_ipv4"]
        self.block6: str | None = data["block_ipv6"]
        self.ttl = int(data["ttl"])
        # per tag: the zones that apply, in order; a category zone is ("cat", ids)
        self.zones: dict[str, list[tuple[str, Any]]] = {}
        self.small: set[str] = set()  # names a small zone decides, for some client
        self.everything = any(zone["everything"] for zone in data["zones"])  # e.g. bedtime
        for tag in data["tags"]:
            chain: list[tuple[str, Any]] = []
            cats: set[int] = set()
            for zone in data["zones"]:
                if zone["tags"] and tag not in zone["tags"]:
                    continue
                if zone["category"] is not None:
                    cats.add(zone["category"])
                    continue
                rules = {name: (act, subtree, target)
                         for name, act, subtree, target in zone["rules"]}
                self.small.update(rules)
                chain.append(("names", (rules, zone["everything"], zone["act"])))
            if cats:
                chain.append(("cat", frozenset(cats)))
            self.zones[tag] = chain

    def tag(self, address: str) -> str | None:
        try:
            return self.by_address[address]
        except KeyError:
            pass
        ip = ipaddress.ip_address(address)
        tag = next((t for net, t in self.networks if ip in net), None)
        if len(self.by_address) > 65536:
            self.by_address.clear()
        self.by_address[address] = tag
        return tag

    def decide(self, tag: str, name: str) -> tuple[str, str | None]:
        """(act, rewrite target) for ``name`` asked by a client of ``tag``."""
        for kind, data in self.zones[tag]:
            if kind == "cat":
                for hit in self.index.lookup(name):
                    if not hit.allow and hit.category in data:
                        return BLOCK, None
                continue
            rules, everything, act = data
            probe, exact = name, True
            while True:
                rule = rules.get(probe)
                if rule is not None and (exact or rule[1]):
                    return rule[0], rule[2]
                dot = probe.find(".")
                if dot < 0:
                    break
                probe, exact = probe[dot + 1:], False
            if everything:
                return act, None
        return PASSTHRU, None

    def listed(self, name: str) -> bool:
        """Whether some client's answer for ``name`` may differ from another's."""
        if self.everything:
            return True  # a profile's bedtime: nothing may come from the shared cache
        probe = name
        while True:
            if probe in self.small:
                return True
            dot = probe.find(".")
            if dot < 0:
                break
            probe = probe[dot + 1:]
        return self.index.contains_suffix(name)


policy: Policy | None = None


def init_standard(id: int, env: Any) -> bool:
    global policy
    policy = Policy(os.environ["KIDSHIELD_POLICY"])
    ub.log_info(f"kidshield: {policy.index.size:,} index rules, {len(policy.zones)} tags")
    return True


def deinit(id: int) -> bool:
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


def _strictest(name: str, addresses: list[str]) -> tuple[str, str | None]:
    """The first answer other than passthru among these clients' decisions: when a child
    and a parent share a resolution, both get the child's answer (the parent's next query,
    never cached, resolves again)."""
    assert policy is not None
    for address in addresses:
        tag = policy.tag(address)
        if tag is not None:
            act, target = policy.decide(tag, name)
            if act != PASSTHRU:
                return act, target
    return PASSTHRU, None


def _answer(id: int, qstate: Any, act: str, target: str | None) -> None:
    assert policy is not None
    q = qstate.qinfo
    name = q.qname_str
    rcode = ub.RCODE_NXDOMAIN if act == NXDOMAIN else ub.RCODE_NOERROR
    msg = ub.DNSMessage(name, q.qtype, q.qclass, ub.PKT_QR | ub.PKT_RA | ub.PKT_AA)
    if act == BLOCK and policy.block4 is None:
        rcode = ub.RCODE_NXDOMAIN
    elif act == BLOCK and q.qtype == ub.RR_TYPE_A:
        msg.answer.append(f"{name} {policy.ttl} IN A {policy.block4}")
    elif act == BLOCK and q.qtype == ub.RR_TYPE_AAAA and policy.block6:
        msg.answer.append(f"{name} {policy.ttl} IN AAAA {policy.block6}")
    elif act == REWRITE and target:
        msg.answer.append(f"{name} {policy.ttl} IN CNAME {target}.")
    if not msg.set_return_msg(qstate):
        qstate.ext_state[id] = ub.MODULE_ERROR
        return
    qstate.return_rcode = rcode
    qstate.return_msg.rep.security = 2
    qstate.ext_state[id] = ub.MODULE_FINISHED


def operate(id: int, event: int, qstate: Any, qdata: Any) -> bool:
    if event in (ub.MODULE_EVENT_NEW, ub.MODULE_EVENT_PASS):
        assert policy is not None
        name = qstate.qinfo.qname_str.rstrip(".").lower()
        if not name or not policy.listed(name):
            qstate.ext_state[id] = ub.MODULE_WAIT_MODULE  # the same answer for everyone
            return True
        qstate.no_cache_store = 1  # decided per client: never served from the cache
        act, target = _strictest(name, _clients(qstate))
        if act != PASSTHRU:
            _answer(id, qstate, act, target)
            return True
        qstate.ext_state[id] = ub.MODULE_WAIT_MODULE
        return True
    if event == ub.MODULE_EVENT_MODDONE:
        assert policy is not None
        name = qstate.qinfo.qname_str.rstrip(".").lower()
        if name and policy.listed(name):
            # clients that joined while the name resolved
            act, target = _strictest(name, _clients(qstate))
            if act != PASSTHRU:
                _answer(id, qstate, act, target)
                return True
        qstate.ext_state[id] = ub.MODULE_FINISHED
        return True
    qstate.ext_state[id] = ub.MODULE_ERROR
    return True
