"""Cyberdrills: check, one by one, that the protections hold on this network.

Each check is a small class behind the ``Check`` protocol, registered in ``CHECKS``. Checks
talk DNS (dnspython) to the configured kidshield server only; the egress checks send one query
to the address the user names (``--egress``) and nothing else; the block-page check fetches
the address the server hands out for a blocked name. Each returns pass / fail / warn / skip
with the evidence it saw and the fix for a failure.
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal, Protocol

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import httpx

from kidshield.policy.catalog import DATA_DIR, SafeSearchEngine, default_catalog

Status = Literal["pass", "fail", "warn", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "warn", "skip")
CANARY = "use-application-dns.net"
_BLOCK_EDE = {15, 16, 17}  # RFC 8914: Blocked, Censored, Filtered
_NULL = {"0.0.0.0", "::"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    status: Status
    evidence: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class DrillOptions:
    server: str = "127.0.0.1"
    port: int = 53
    timeout: float = 2.0
    blocked_names: tuple[str, ...] = ()
    egress: str | None = None
    egress_dns_port: int = 53
    egress_dot_port: int = 853
    block_page_port: int = 80
    samples: int = 5  # names tried per bypass group


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server said for one name: rcode, addresses, CNAME targets, EDE codes."""

    name: str
    rcode: str
    addresses: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    ede: tuple[int, ...] = ()

    @property
    def blocked(self) -> bool:
        if set(self.ede) & _BLOCK_EDE:
            return True
        if self.rcode in ("NXDOMAIN", "REFUSED"):
            return True
        return bool(self.addresses) and set(self.addresses) <= _NULL

    @property
    def nxdomain(self) -> bool:
        return self.rcode == "NXDOMAIN"

    def describe(self) -> str:
        parts = [self.rcode]
        if self.cnames:
            parts.append("CNAME " + ", ".join(self.cnames))
        if self.addresses:
            parts.append(", ".join(self.addresses))
        if self.ede:
            parts.append("EDE " + ",".join(str(c) for c in self.ede))
        return f"{self.name}: {' '.join(parts)}"


class DrillNetworkError(Exception):
    """No answer from a DNS server (timeout or refused connection)."""


Asker = Callable[[str, str], Answer]


def dns_asker(server: str, port: int, timeout: float) -> Asker:
    """Ask ``server`` over UDP (TCP when the answer is truncated), with EDNS for EDE codes."""

    def ask(name: str, rdtype: str = "A") -> Answer:
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        try:
            r = dns.query.udp(q, server, port=port, timeout=timeout, ignore_unexpected=True)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, server, port=port, timeout=timeout)
        except (dns.exception.Timeout, OSError) as exc:
            raise DrillNetworkError(f"no answer from {server} port {port} for {name}: "
                                    f"{type(exc).__name__}") from None
        return parse_answer(name, r)

    return ask


def parse_answer(name: str, r: dns.message.Message) -> Answer:
    addresses: list[str] = []
    cnames: list[str] = []
    for rrset in r.answer:
        for rd in rrset:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses.append(rd.address)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                cnames.append(rd.target.to_text(omit_final_dot=True).lower())
    ede = tuple(int(o.code) for o in r.options if isinstance(o, dns.edns.EDEOption))
    return Answer(name, dns.rcode.to_text(r.rcode()), tuple(addresses), tuple(cnames), ede)


@dataclass
class DrillContext:
    options: DrillOptions
    ask: Asker
    http_get: Callable[[str, str, float], int] = field(default=lambda u, h, t: _http_get(u, h, t))

    def try_ask(self, name: str, rdtype: str = "A") -> Answer | str:
        """The answer, or the error text when the server did not answer."""
        try:
            return self.ask(name, rdtype)
        except DrillNetworkError as exc:
            return str(exc)


def _http_get(url: str, host: str, timeout: float) -> int:
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        return client.get(url, headers={"Host": host}).status_code


class Check(Protocol):
    id: str
    title: str

    def run(self, ctx: DrillContext) -> CheckResult: ...


# -- shipped data the checks sample ----------------------------------------------------------
@cache
def bypass_groups() -> dict[str, tuple[str, ...]]:
    with (DATA_DIR / "bypass.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {g["id"]: tuple(d.lower() for d in g["domains"]) for g in data.get("group", [])}


def default_blocked_names() -> tuple[str, ...]:
    """Names blocked for every child band by default: one per random-chat service."""
    catalog = default_catalog()
    return tuple(s.domains[0] for s in catalog.services.values() if s.group == "random_chat")[:3]


def spread(names: list[str], count: int) -> list[str]:
    """``count`` names spread evenly over the list (lists are grouped by provider, so the
    first few would all be one provider's)."""
    if len(names) <= count:
        return names
    step = len(names) / count
    return [names[int(i * step)] for i in range(count)]


def probe_host(engine: SafeSearchEngine) -> str:
    """The engine's best-known host: ASCII, .com, www. and short first (www.google.com)."""
    return min(engine.hosts, key=lambda h: ("xn--" in h, not h.endswith(".com"),
                                             not h.startswith("www."), len(h), h))


# -- checks ----------------------------------------------------------------------------------
def _unanswered(check: Check, text: str, fix: str = "") -> CheckResult:
    return CheckResult(check.id, check.title, "fail", text, fix or (
        "Make sure the kidshield server is running and that this device may use it "
        "(dns.allow_networks); check --server and --port."))


class ServerAnswers:
    id = "server"
    title = "The kidshield server answers this device"

    def run(self, ctx: DrillContext) -> CheckResult:
        a = ctx.try_ask("example.com")
        if isinstance(a, str):
            return _unanswered(self, a)
        if a.rcode == "REFUSED":
            return CheckResult(self.id, self.title, "fail", a.describe(),
                               "This device's address is not in dns.allow_networks: add the "
                               "network to the configuration.")
        if a.rcode == "SERVFAIL":
            return CheckResult(self.id, self.title, "warn", a.describe(),
                               "The server cannot reach its upstreams: check dns.upstreams and "
                               "the server's internet connection.")
        return CheckResult(self.id, self.title, "pass", a.describe())


class _BlockedNames:
    id = ""
    title = ""
    fix = ""
    want_nxdomain = False

    def names(self, ctx: DrillContext) -> Iterable[str]:
        raise NotImplementedError

    def run(self, ctx: DrillContext) -> CheckResult:
        seen: list[str] = []
        open_: list[str] = []
        for name in self.names(ctx):
            a = ctx.try_ask(name)
            if isinstance(a, str):
                return _unanswered(self, a)
            seen.append(a.describe())
            ok = a.nxdomain if self.want_nxdomain else a.blocked
            if not ok:
                open_.append(name)
        if not seen:
            return CheckResult(self.id, self.title, "skip", "no names to test")
        evidence = "; ".join(seen)
        if open_:
            return CheckResult(self.id, self.title, "fail",
                               f"not blocked: {', '.join(open_)} ({evidence})", self.fix)
        return CheckResult(self.id, self.title, "pass", evidence)


class BlockedCategory(_BlockedNames):
    id = "blocked-category"
    title = "Blocked categories and services are blocked"
    fix = ("In this device's profile, check blocked_categories / unblocked_categories (and "
           "blocked_services), and that the list holding the name is enabled and loaded "
           "('kidshield lists show'). A device not listed under [[clients]] gets the "
           "default profile (or adult filtering without one). 'kidshield check NAME' "
           "explains the decision.")

    def names(self, ctx: DrillContext) -> Iterable[str]:
        return ctx.options.blocked_names or default_blocked_names()


class SafeSearch:
    def __init__(self, engine: SafeSearchEngine) -> None:
        self.engine = engine
        self.id = f"safe-search-{engine.id}"
        self.title = f"Safe search is forced on {engine.name}"

    def run(self, ctx: DrillContext) -> CheckResult:
        host = probe_host(self.engine)
        a = ctx.try_ask(host)
        if isinstance(a, str):
            return _unanswered(self, a)
        setting = "youtube" if self.engine.setting == "youtube" else "safe_search"
        if self.engine.strict in a.cnames:
            return CheckResult(self.id, self.title, "pass", a.describe())
        if self.engine.moderate in a.cnames:
            return CheckResult(self.id, self.title, "pass", a.describe() + " (moderate)")
        return CheckResult(
            self.id, self.title, "fail",
            f"{a.describe()}: no CNAME to {self.engine.strict}",
            f'Set {setting} = "strict" (or "moderate") in this device\'s profile, and make sure '
            "the device uses kidshield as its only DNS server.")


class UnsupportedSearch(_BlockedNames):
    id = "unsupported-search"
    title = "Search engines without a safe mode are blocked"
    fix = ('Set safe_search = "strict" or "moderate" in this device\'s profile: engines with no '
           "safe mode are then blocked.")

    def names(self, ctx: DrillContext) -> Iterable[str]:
        with (DATA_DIR / "safesearch.toml").open("rb") as fh:
            data = tomllib.load(fh)
        return [u["domains"][0] for u in data.get("unsupported", [])][: ctx.options.samples]


class Canary:
    id = "canary"
    title = "Firefox's DoH canary says: use the network's DNS"

    def run(self, ctx: DrillContext) -> CheckResult:
        a = ctx.try_ask(CANARY)
        if isinstance(a, str):
            return _unanswered(self, a)
        if a.nxdomain:
            return CheckResult(self.id, self.title, "pass", a.describe())
        return CheckResult(
            self.id, self.title, "fail", f"{a.describe()} (must be NXDOMAIN)",
            "This device is not asking kidshield: a resolver that answers the canary lets "
            "Firefox switch on its own encrypted DNS and skip the filter. Point the device (or "
            "the router's DHCP DNS setting) at kidshield only.")


class _BypassGroup(_BlockedNames):
    group = ""
    fix = ("Set bypass_protection = true in this device's profile (the default for children), "
           "and keep the shipped bypass lists up to date.")

    def names(self, ctx: DrillContext) -> Iterable[str]:
        names = [n for n in bypass_groups().get(self.group, ()) if n != CANARY]
        return spread(names, ctx.options.samples)


class EncryptedDns(_BypassGroup):
    id = "encrypted-dns"
    title = "Public DoH/DoT resolvers are blocked"
    group = "doh"


class PrivateRelay(_BypassGroup):
    id = "private-relay"
    title = "iCloud Private Relay is switched off by the network"
    group = "private_relay"
    want_nxdomain = True  # Apple reads NXDOMAIN as "this network does not allow Private Relay"


class Vpn(_BypassGroup):
    id = "vpn"
    title = "Known VPN services are blocked"
    group = "vpn"


class _Egress:
    id = ""
    title = ""
    port_attr = ""

    def how(self) -> str:
        return ("Run again with --egress ADDRESS naming an outside DNS server you choose "
                "(for example your ISP's resolver) to test whether the firewall stops it.")

    def run(self, ctx: DrillContext) -> CheckResult:
        target = ctx.options.egress
        if not target:
            return CheckResult(self.id, self.title, "skip", "no --egress address given",
                               self.how())
        port = int(getattr(ctx.options, self.port_attr))
        through = self.probe(target, port, ctx.options.timeout)
        where = f"{target} port {port}"
        if through is None:
            return CheckResult(self.id, self.title, "pass",
                               f"no connection or answer from {where}: the firewall stops it")
        return CheckResult(
            self.id, self.title, "fail", f"{where}: {through}",
            f"On the router or firewall, block outgoing port {port} (TCP and UDP) from child "
            "devices to everything except kidshield, or redirect it to kidshield.")

    def probe(self, host: str, port: int, timeout: float) -> str | None:
        raise NotImplementedError


class EgressDns(_Egress):
    id = "egress-53"
    title = "Direct DNS to outside resolvers (port 53) is stopped"
    port_attr = "egress_dns_port"

    def probe(self, host: str, port: int, timeout: float) -> str | None:
        q = dns.message.make_query("example.com", "A")
        for proto, send in (("UDP", dns.query.udp), ("TCP", dns.query.tcp)):
            try:
                r = send(q, host, port=port, timeout=timeout)
            except (dns.exception.Timeout, OSError, dns.exception.DNSException):
                continue
            return f"answered over {proto} ({dns.rcode.to_text(r.rcode())})"
        return None


class EgressDot(_Egress):
    id = "egress-853"
    title = "DNS over TLS to outside resolvers (port 853) is stopped"
    port_attr = "egress_dot_port"

    def probe(self, host: str, port: int, timeout: float) -> str | None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return "a TCP connection was accepted: DNS over TLS can get through"
        except OSError:
            return None


class BlockPage:
    id = "block-page"
    title = "The block page explains blocks"

    def run(self, ctx: DrillContext) -> CheckResult:
        names = [*ctx.options.blocked_names, *default_blocked_names()]
        null_answers: list[str] = []
        for name in names:
            a = ctx.try_ask(name)
            if isinstance(a, str):
                return _unanswered(self, a)
            if not a.blocked:
                continue
            shown = [ip for ip in a.addresses if ip not in _NULL]
            if not shown:
                null_answers.append(a.describe())
                continue
            ip = shown[0]
            url = f"http://{ip}:{ctx.options.block_page_port}/"
            try:
                status = ctx.http_get(url, name, min(ctx.options.timeout, 3.0))
            except httpx.HTTPError as exc:
                return CheckResult(
                    self.id, self.title, "fail",
                    f"{name} -> {ip}; GET {url}: {type(exc).__name__}",
                    "Blocked names point at the block page address, but nothing answers there: "
                    "run 'kidshield serve' with the web server on, and set dns.block_page_ipv4 "
                    "to the address where it listens.")
            if status >= 500:
                return CheckResult(self.id, self.title, "fail",
                                   f"{name} -> {ip}; GET {url}: HTTP {status}",
                                   "The block page server has an error: see its log.")
            return CheckResult(self.id, self.title, "pass",
                               f"{name} -> {ip}; GET {url}: HTTP {status}")
        if null_answers:
            return CheckResult(
                self.id, self.title, "fail", "; ".join(null_answers),
                'Set dns.block_mode = "block_page" so children see why a page is blocked '
                "(and where to get help), not a browser error.")
        return CheckResult(self.id, self.title, "skip", "no blocked name found to test with",
                           "Run again with --blocked-name NAME naming a blocked site.")


def all_checks() -> list[Check]:
    engines = sorted(default_catalog().engines.values(), key=lambda e: e.id)
    return [
        ServerAnswers(),
        BlockedCategory(),
        *[SafeSearch(e) for e in engines],
        UnsupportedSearch(),
        Canary(),
        EncryptedDns(),
        PrivateRelay(),
        Vpn(),
        EgressDns(),
        EgressDot(),
        BlockPage(),
    ]


def run_drill(options: DrillOptions, ask: Asker | None = None,
              checks: list[Check] | None = None,
              progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    ctx = DrillContext(options, ask or dns_asker(options.server, options.port, options.timeout))
    results: list[CheckResult] = []
    for check in checks if checks is not None else all_checks():
        result = check.run(ctx)
        results.append(result)
        if progress is not None:
            progress(result)
        if check.id == "server" and result.status == "fail":
            break  # nothing else can work; say so once
    return results
