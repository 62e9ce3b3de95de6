"""Engine configurations that map each client network to its profile's zones.

Every engine consults the zones in the order of ``FleetPolicy.zones`` and only those whose
tags include the client's profile:

* Unbound: ``define-tag``/``access-control-tag`` per network and one ``rpz:`` clause per zone
  with ``tags:`` (an include for ``unbound.conf``);
* PowerDNS Recursor: ``rpzFile``/``rpzPrimary`` per zone (Lua configuration) and a
  ``prerpz`` hook that discards the zones not meant for the client's network;
* BIND 9: one view per profile with its ``response-policy`` list and its own copy of each
  zone it uses (BIND takes policy zones only from the view's own zones);
* Knot Resolver 6: ``local-data: rpz:`` with tags and ``views:`` that tag each network.

``Source`` says where the engine finds a zone: a file in the export folder, or kidshield's
AXFR/IXFR listener (``primary``), from which it pulls and is notified at schedule edges.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kidshield.fleet.zones import CHILD_PAGE, ClientNetwork, FleetPolicy, Zone


@dataclass(frozen=True, slots=True)
class Source:
    folder: Path  # where the zone files are (or, when pulled, where the engine caches them)
    primary: tuple[str, int] | None = None  # kidshield's transfer listener, if engines pull

    def file(self, zone: Zone, policy: FleetPolicy) -> Path:
        return self.folder / zone_file_name(zone, policy)

    def copy(self, zone: Zone, policy: FleetPolicy) -> str:
        """Where an engine keeps its copy: pulled zones go into the engine's own working
        directory (a relative name), files are read from the export folder."""
        if self.primary:
            return zone_file_name(zone, policy)
        return str(self.file(zone, policy))


def zone_file_name(zone: Zone, policy: FleetPolicy) -> str:
    return f"{zone.origin(policy.suffix)}.zone"


def _q(text: str) -> str:
    return json.dumps(text)  # a double-quoted string with escapes, valid in every format here


def _header(policy: FleetPolicy, comment: str) -> str:
    until = (policy.valid_until.isoformat(timespec="seconds") if policy.valid_until
             else "the configuration or the lists change")
    lines = [f"kidshield policy for {comment}, generated from the policy at "
             f"{policy.at.isoformat(timespec='seconds')}", f"valid until {until}"]
    lines += [f"note: {n}" for n in policy.notes]
    return "".join(f"{{c}} {line}\n" for line in lines)


def _tag_list(policy: FleetPolicy) -> list[str]:
    return sorted(policy.profiles)


def unbound(policy: FleetPolicy, source: Source) -> str:
    out = [_header(policy, "Unbound: add `include: <this file>` to unbound.conf").format(c="#")]
    out.append("server:\n")
    # respip is the module that applies RPZ; keep the validator if the server validates
    out.append('    module-config: "respip validator iterator"\n')
    out.append(f"    define-tag: {_q(' '.join(_tag_list(policy)))}\n")
    if any(r.name == CHILD_PAGE for z in policy.zones for r in z.rules):
        # Unbound answers home.arpa itself (RFC 8375) before any RPZ: let the child page through
        out.append(f"    local-zone: {_q(CHILD_PAGE + '.')} transparent\n")
    for net in policy.networks:
        out.append(f"    access-control: {net.network} allow\n")
        out.append(f"    access-control-tag: {net.network} {_q(net.profile)}"
                   f"  # {net.name}\n")
    for zone in policy.zones:
        origin = zone.origin(policy.suffix)
        out.append(f"\n# {zone.note}\nrpz:\n    name: {_q(origin + '.')}\n")
        out.append(f"    zonefile: {_q(source.copy(zone, policy))}\n")
        if source.primary:
            host, port = source.primary
            out.append(f"    primary: {host}@{port}\n    allow-notify: {host}\n")
        if zone.profiles:
            out.append(f"    tags: {_q(' '.join(zone.profiles))}\n")
        if policy.compact(zone):
            out.append(f"    rpz-action-override: cname\n"
                       f"    rpz-cname-override: {_q(str(policy.block_host) + '.')}\n")
        out.append(f"    rpz-log: yes\n    rpz-log-name: {_q('kidshield ' + zone.label)}\n")
    return "".join(out)


def powerdns(policy: FleetPolicy, source: Source) -> str:
    """The Recursor's ``lua-config-file``: the zones, in the order they apply."""
    out = [_header(policy, "PowerDNS Recursor: lua-config-file (the zones); "
                   "powerdns-recursor-script.lua is the lua-dns-script").format(c="--")]
    for zone in policy.zones:
        origin = zone.origin(policy.suffix)
        extra = (f", defpol=Policy.Custom, defcontent={_q(str(policy.block_host))}"
                 if policy.compact(zone) else "")
        opts = f"{{policyName={_q(origin)}, defttl={policy.ttl}{extra}}}"
        if source.primary:
            host, port = source.primary
            out.append(f"rpzPrimary({_q(f'{host}:{port}')}, {_q(origin)}, {opts})\n")
        else:
            out.append(f"rpzFile({_q(str(source.file(zone, policy)))}, {opts})\n")
    return "".join(out)


def powerdns_script(policy: FleetPolicy, _source: Source) -> str:
    """The Recursor's ``lua-dns-script``: ``gettag`` finds the client's profile by network
    (the tag also keeps answers for different profiles apart in the packet cache) and
    ``prerpz`` discards the zones that are not the profile's."""
    tags = _tag_list(policy)
    number = {tag: i for i, tag in enumerate(tags, start=1)}  # 0: no profile
    out = [_header(policy, "PowerDNS Recursor: lua-dns-script").format(c="--")]
    out.append(f"local profiles = {{{', '.join(_q(t) for t in tags)}}}\n")
    out.append("local networks = {  -- most specific first\n")
    for net in policy.networks:
        out.append(f"  {{newNetmask({_q(net.network)}), {number[net.profile]}}},"
                   f"  -- {net.name}: {net.profile}\n")
    out.append("}\nlocal applies = {\n")
    for tag in ["", *tags]:
        names = ", ".join(f"[{_q(z.origin(policy.suffix))}] = true" for z in policy.zones
                          if not z.profiles or tag in z.profiles)
        out.append(f"  [{number.get(tag, 0)}] = {{{names}}},  -- {tag or 'no profile'}\n")
    out.append("}\nlocal zones = {" + ", ".join(_q(z.origin(policy.suffix))
                                             for z in policy.zones) + "}\n")
    out.append(
        "\nfunction gettag(remote, ednssubnet, localip, qname, qtype, ednsoptions, tcp)\n"
        "  local address = remote:toString()\n"
        "  for _, entry in ipairs(networks) do\n"
        "    if entry[1]:match(address) then return entry[2] end\n"
        "  end\n"
        "  return 0\n"
        "end\n"
        "\nfunction prerpz(dq)\n"
        "  local mine = applies[dq.tag] or applies[0]\n"
        "  for _, zone in ipairs(zones) do\n"
        "    if not mine[zone] then dq:discardPolicy(zone) end\n"
        "  end\n"
        "  return false\n"
        "end\n")
    return "".join(out)


def _within(inner: ipaddress.IPv4Network | ipaddress.IPv6Network,
            outer: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return (inner.version == outer.version and inner != outer
            and inner.subnet_of(outer))  # type: ignore[arg-type]


def bind(policy: FleetPolicy, source: Source) -> str:
    out = [_header(policy, "BIND 9: include this file in named.conf").format(c="//")]
    by_profile: dict[str, list[ClientNetwork]] = {}
    for net in policy.networks:
        by_profile.setdefault(net.profile, []).append(net)
    for tag in by_profile:
        view = f"kidshield-{tag}"
        # BIND takes the first view whose match-clients matches: each view first refuses
        # the other profiles' networks that lie inside its own, so the most specific network
        # wins (a device's own address over the network around it), as in kidshield
        mine = [ipaddress.ip_network(n.network) for n in by_profile[tag]]
        inside = [n.network for n in policy.networks if n.profile != tag and any(
            _within(ipaddress.ip_network(n.network), m) for m in mine)]
        nets = "; ".join([*(f"!{n}" for n in inside), *(n.network for n in by_profile[tag])])
        out.append(f"\nview {_q(view)} {{\n    match-clients {{ {nets}; }};\n"
                   "    recursion yes;\n")
        zones = [z for z in policy.zones if not z.profiles or tag in z.profiles]
        if zones:
            out.append("    response-policy {\n")
            for zone in zones:
                override = (f" policy cname {policy.block_host}" if policy.compact(zone)
                            else "")
                out.append(f"        zone {_q(zone.origin(policy.suffix))}{override};\n")
            out.append("    } qname-wait-recurse no;\n")
        # BIND takes policy zones only from its own view's primary or secondary zones (not
        # shared with in-view), so each view loads the zones it uses; list names may hold
        # underscores, which are names but not host names (check-names)
        for zone in zones:
            origin = zone.origin(policy.suffix)
            if source.primary:
                host, port = source.primary
                path = _q(f"{tag}/{zone_file_name(zone, policy)}")  # a copy per view
                out.append(f"    zone {_q(origin)} {{ type secondary; file {path}; "
                           f"primaries {{ {host} port {port}; }}; allow-query {{ none; }}; "
                           "check-names ignore; };\n")
            else:
                path = _q(source.copy(zone, policy))
                out.append(f"    zone {_q(origin)} {{ type primary; file {path}; "
                           "allow-query { none; }; check-names ignore; };\n")
        out.append("};\n")
    return "".join(out)


def knot(policy: FleetPolicy, source: Source) -> str:
    """Knot Resolver 6 (YAML). Knot reads RPZ files (no transfers): with a primary, point
    ``file`` at copies an AXFR client keeps fresh, or use the export folder."""
    out = [_header(policy, "Knot Resolver 6: merge into config.yaml").format(c="#")]
    if policy.block_host:
        out.append("# compact zones (--block-host) answer NXDOMAIN here: Knot Resolver has no\n"
                   "# per-zone override to a block page name\n")
    out.append("views:\n")
    for net in policy.networks:
        out.append(f"  - subnets: [{_q(net.network)}]  # {net.name}\n"
                   f"    tags: [{_q(net.profile)}]\n")
    out.append("local-data:\n  rpz:\n")
    for zone in policy.zones:
        out.append(f"    - file: {_q(str(source.file(zone, policy)))}  # {zone.note}\n")
        if zone.profiles:
            out.append(f"      tags: [{', '.join(_q(t) for t in zone.profiles)}]\n")
    return "".join(out)


ENGINES: dict[str, list[tuple[str, Callable[[FleetPolicy, Source], str]]]] = {
    "unbound": [("unbound.conf", unbound)],
    "powerdns": [("powerdns-recursor.lua", powerdns),
                 ("powerdns-recursor-script.lua", powerdns_script)],
    "bind": [("named.conf", bind)],
    "knot": [("knot-resolver.yaml", knot)],
}
