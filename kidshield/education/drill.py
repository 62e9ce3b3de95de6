"""Cyberdrills: check, one by one, that the protections hold on this network, for the device
the drill runs on.

Each check is a small class behind the ``Check`` protocol, listed in ``all_checks``. Most
checks talk DNS (dnspython) to the kidshield server named with ``--server``. Two go through the
device's own system resolver, as the device's apps do: a unique canary name that proves
whether this device's queries reach kidshield at all (and as which profile), and Firefox's
DoH canary. The egress checks send one query to the address the user names (``--egress``) and
nothing else; the block-page check fetches the address the server hands out for a blocked name.

Each returns pass / fail / warn / skip with the evidence it saw and the fix for a failure, and
carries a weight: the harm a gap allows (see ``Check.weight``). The score weighs the checks and
counts a skipped check as not proven, so a drill with skipped checks never scores 100%.
"""

from __future__ import annotations

import secrets
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

from kidshield.dns.drillcanary import CANARY_ADDRESS, SEEN, SUFFIX
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
    weight: int = 1  # the harm a gap allows: see each check's ``weight``
    profile: str | None = None  # this-device: the profile the device's queries were matched to


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
    texts: tuple[str, ...] = ()

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
    texts: list[str] = []
    for rrset in r.answer:
        for rd in rrset:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses.append(rd.address)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                cnames.append(rd.target.to_text(omit_final_dot=True).lower())
            elif rrset.rdtype == dns.rdatatype.TXT:
                texts += [t.decode(errors="replace") for t in rd.strings]
    ede = tuple(int(o.code) for o in r.options if isinstance(o, dns.edns.EDEOption))
    return Answer(name, dns.rcode.to_text(r.rcode()), tuple(addresses), tuple(cnames), ede,
                  tuple(texts))


class NameNotFound(Exception):
    """The system resolver says the name does not exist (NXDOMAIN, or no address)."""


class LookupFailed(Exception):
    """The system resolver could not answer at all (no network, timeout)."""


# name -> addresses, through the device's own resolver path (what its apps get)
SystemLookup = Callable[[str], list[str]]


def system_lookup(name: str) -> list[str]:
    """The device's system resolver (getaddrinfo: resolv.conf, DHCP, systemd-resolved...)."""
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            raise NameNotFound(name) from None
        raise LookupFailed(f"{name}: {exc.strerror or exc}") from None
    return sorted({str(info[4][0]) for info in found})


@dataclass
class DrillContext:
    options: DrillOptions
    ask: Asker
    http_get: Callable[[str, str, float], tuple[int, str]] = field(
        default=lambda u, h, t: _http_get(u, h, t))
    lookup: SystemLookup = system_lookup

    def try_ask(self, name: str, rdtype: str = "A") -> Answer | str:
        """The answer, or the error text when the server did not answer."""
        try:
            return self.ask(name, rdtype)
        except DrillNetworkError as exc:
            return str(exc)


def _http_get(url: str, host: str, timeout: float) -> tuple[int, str]:
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        r = client.get(url, headers={"Host": host})
        return r.status_code, r.text[:200_000]


class Check(Protocol):
    id: str
    title: str
    # The harm a gap allows, 1 to 10: 10 = no protection on this device (the server is not
    # used, or one browser setting skips it), 8 = harmful content open or a bypass any child
    # can use, 6 = a bypass on one platform, 3-4 = one big search engine, 1-2 = a smaller
    # engine, or a protection that explains rather than blocks. A gap of 8 or more is
    # critical: it caps the score (scorecard.score).
    weight: int

    def run(self, ctx: DrillContext) -> CheckResult: ...


def _result(check: Check, status: Status, evidence: str, fix: str = "",
            profile: str | None = None) -> CheckResult:
    return CheckResult(check.id, check.title, status, evidence, fix, check.weight, profile)


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
    return _result(check, "fail", text, fix or (
        "Make sure the kidshield server is running and that this device may use it "
        "(dns.allow_networks); check --server and --port."))


class ServerAnswers:
    id = "server"
    title = "The kidshield server answers this device"
    weight = 10

    def run(self, ctx: DrillContext) -> CheckResult:
        a = ctx.try_ask("example.com")
        if isinstance(a, str):
            return _unanswered(self, a)
        if a.rcode == "REFUSED":
            return _result(self, "fail", a.describe(),
                               "This device's address is not in dns.allow_networks: add the "
                               "network to the configuration.")
        if a.rcode == "SERVFAIL":
            return _result(self, "warn", a.describe(),
                               "The server cannot reach its upstreams: check dns.upstreams and "
                               "the server's internet connection.")
        return _result(self, "pass", a.describe())


def _facts(texts: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, _, v in (t.partition("=") for t in texts) if v}


class ThisDevice:
    """Does this device's own resolver path reach kidshield? A unique name is looked up
    through the system resolver; then the server says whether it saw it, from which client
    address and as which profile."""

    id = "this-device"
    title = "This device's own DNS goes through kidshield"
    weight = 10
    fix_not_seen = (
        "This device asks another DNS server, so none of the protections apply to it. Point "
        "the device (or the router's DHCP DNS setting) at kidshield only, and switch off "
        "'Private DNS', 'Secure DNS' or a VPN on the device. Run the drill again.")

    def run(self, ctx: DrillContext) -> CheckResult:
        token = "ks-" + secrets.token_hex(8)
        name = token + SUFFIX
        try:
            got = ", ".join(ctx.lookup(name)) or "no address"
        except NameNotFound:
            got = "the name does not exist (NXDOMAIN)"
        except LookupFailed as exc:
            got = f"no answer ({exc})"
        seen = ctx.try_ask(token + SEEN, "TXT")
        if isinstance(seen, str):
            return _unanswered(self, seen)
        facts = _facts(seen.texts)
        asker = facts.get("asker-profile")
        if facts.get("seen") != "yes":
            note = "" if CANARY_ADDRESS not in got else (
                " (a resolver between this device and kidshield answered from a cache?)")
            return _result(
                self, "fail",
                f"looked up {name} through this device's resolver: {got}; kidshield never saw "
                f"it{note}. Direct queries to {ctx.options.server} are matched to profile "
                f"{asker or '?'}, but this device does not send its queries there.",
                self.fix_not_seen)
        client, profile = facts.get("client", "?"), facts.get("profile", "?")
        evidence = (f"looked up {name} through this device's resolver ({got}); kidshield saw "
                    f"it from {client}, matched to profile {profile}")
        if asker and asker != profile:
            return _result(
                self, "warn",
                f"{evidence}; the checks below ask kidshield directly and are matched to "
                f"profile {asker}, so they may not show what this device gets",
                f"This device's queries reach kidshield through {client} (a router or another "
                "resolver), so they get that address's profile. Give the device kidshield's "
                "address as its DNS server (DHCP), or add a [[clients]] entry for it; then "
                "run the drill again.", profile=profile)
        return _result(self, "pass", evidence, profile=profile)


class _BlockedNames:
    id = ""
    title = ""
    fix = ""
    weight = 1
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
            return _result(self, "skip", "no names to test")
        evidence = "; ".join(seen)
        if open_:
            return _result(self, "fail",
                               f"not blocked: {', '.join(open_)} ({evidence})", self.fix)
        return _result(self, "pass", evidence)


class BlockedCategory(_BlockedNames):
    id = "blocked-category"
    title = "Blocked categories and services are blocked"
    weight = 8
    fix = ("In this device's profile, check blocked_categories / unblocked_categories (and "
           "blocked_services), and that the list holding the name is enabled and loaded "
           "('kidshield lists show'). A device not listed under [[clients]] gets the "
           "default profile (or adult filtering without one). 'kidshield check NAME' "
           "explains the decision.")

    def names(self, ctx: DrillContext) -> Iterable[str]:
        return ctx.options.blocked_names or default_blocked_names()


# the big engines and video sites, where children search most, weigh most
SAFE_SEARCH_WEIGHTS = {"google": 4, "youtube": 4, "bing": 2, "duckduckgo": 2}


class SafeSearch:
    def __init__(self, engine: SafeSearchEngine) -> None:
        self.engine = engine
        self.id = f"safe-search-{engine.id}"
        self.title = f"Safe search is forced on {engine.name}"
        self.weight = SAFE_SEARCH_WEIGHTS.get(engine.id, 1)

    def run(self, ctx: DrillContext) -> CheckResult:
        host = probe_host(self.engine)
        a = ctx.try_ask(host)
        if isinstance(a, str):
            return _unanswered(self, a)
        setting = "youtube" if self.engine.setting == "youtube" else "safe_search"
        if self.engine.strict in a.cnames:
            return _result(self, "pass", a.describe())
        if self.engine.moderate in a.cnames:
            return _result(self, "pass", a.describe() + " (moderate)")
        return _result(
            self, "fail",
            f"{a.describe()}: no CNAME to {self.engine.strict}",
            f'Set {setting} = "strict" (or "moderate") in this device\'s profile, and make sure '
            "the device uses kidshield as its only DNS server.")


class UnsupportedSearch(_BlockedNames):
    id = "unsupported-search"
    title = "Search engines without a safe mode are blocked"
    weight = 3
    fix = ('Set safe_search = "strict" or "moderate" in this device\'s profile: engines with no '
           "safe mode are then blocked.")

    def names(self, ctx: DrillContext) -> Iterable[str]:
        with (DATA_DIR / "safesearch.toml").open("rb") as fh:
            data = tomllib.load(fh)
        return [u["domains"][0] for u in data.get("unsupported", [])][: ctx.options.samples]


class Canary:
    """Firefox asks the system resolver for the canary, so the drill does too."""

    id = "canary"
    title = "Firefox's DoH canary says: use the network's DNS"
    weight = 6

    def run(self, ctx: DrillContext) -> CheckResult:
        try:
            found = ctx.lookup(CANARY)
        except NameNotFound:
            return _result(self, "pass", f"{CANARY} through this device's resolver: NXDOMAIN")
        except LookupFailed as exc:
            return _result(self, "warn", f"{CANARY}: the system resolver did not answer "
                           f"({exc})", "Check this device's network settings, then run the "
                           "drill again.")
        return _result(
            self, "fail",
            f"{CANARY} through this device's resolver: {', '.join(found) or 'an answer'} "
            "(must be NXDOMAIN)",
            "This device's resolver is not kidshield (or lets the canary through): Firefox "
            "will switch on its own encrypted DNS and skip the filter. Point the device (or "
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
    weight = 10  # one browser setting skips every filter


class PrivateRelay(_BypassGroup):
    id = "private-relay"
    title = "iCloud Private Relay is switched off by the network"
    group = "private_relay"
    weight = 6
    want_nxdomain = True  # Apple reads NXDOMAIN as "this network does not allow Private Relay"


class Vpn(_BypassGroup):
    id = "vpn"
    title = "Known VPN services are blocked"
    group = "vpn"
    weight = 8


class _Egress:
    id = ""
    title = ""
    port_attr = ""
    weight = 1

    def how(self) -> str:
        return ("Run again with --egress ADDRESS naming an outside DNS server you choose "
                "(for example your ISP's resolver) to test whether the firewall stops it.")

    def run(self, ctx: DrillContext) -> CheckResult:
        target = ctx.options.egress
        if not target:
            return _result(self, "skip", "no --egress address given",
                               self.how())
        port = int(getattr(ctx.options, self.port_attr))
        through = self.probe(target, port, ctx.options.timeout)
        where = f"{target} port {port}"
        if through is None:
            return _result(self, "pass",
                               f"no connection or answer from {where}: the firewall stops it")
        return _result(
            self, "fail", f"{where}: {through}",
            f"On the router or firewall, block outgoing port {port} (TCP and UDP) from child "
            "devices to everything except kidshield, or redirect it to kidshield.")

    def probe(self, host: str, port: int, timeout: float) -> str | None:
        raise NotImplementedError


class EgressDns(_Egress):
    id = "egress-53"
    title = "Direct DNS to outside resolvers (port 53) is stopped"
    port_attr = "egress_dns_port"
    weight = 8  # any device can type in another DNS server

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
    weight = 6  # Android's Private DNS setting

    def probe(self, host: str, port: int, timeout: float) -> str | None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return "a TCP connection was accepted: DNS over TLS can get through"
        except OSError:
            return None


BLOCK_PAGE_MARK = "/.well-known/kidshield/ask"  # the block page's "ask for access" form


class BlockPage:
    """Strict: the address a blocked name points to must serve kidshield's block page for
    that name (status 403, the name on the page, the "ask for access" form), not just any
    web page."""

    id = "block-page"
    title = "The block page explains blocks"
    weight = 2

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
            host = f"[{ip}]" if ":" in ip else ip
            url = f"http://{host}:{ctx.options.block_page_port}/"
            where = f"{name} -> {ip}; GET {url} (Host: {name})"
            try:
                status, body = ctx.http_get(url, name, min(ctx.options.timeout, 3.0))
            except httpx.HTTPError as exc:
                return _result(
                    self, "fail", f"{where}: {type(exc).__name__}",
                    "Blocked names point at the block page address, but nothing answers there: "
                    "run 'kidshield serve' with the web server on, and set dns.block_page_ipv4 "
                    "to the address where it listens.")
            missing = [what for what, ok in (("status 403", status == 403),
                                             ("the blocked name", name in body),
                                             ("the ask-for-access form", BLOCK_PAGE_MARK in body))
                       if not ok]
            if missing:
                return _result(
                    self, "fail", f"{where}: HTTP {status}, without {', '.join(missing)}",
                    "Something else answers at the block page address (another web server, a "
                    "router page or an error). Set dns.block_page_ipv4 to the address where "
                    "kidshield's web server listens on port 80, and check its log.")
            return _result(self, "pass", f"{where}: HTTP 403, kidshield's block page for "
                           f"{name}")
        if null_answers:
            return _result(
                self, "fail", "; ".join(null_answers),
                'Set dns.block_mode = "block_page" so children see why a page is blocked '
                "(and where to get help), not a browser error.")
        return _result(self, "skip", "no blocked name found to test with",
                       "Run again with --blocked-name NAME naming a blocked site.")


def all_checks() -> list[Check]:
    engines = sorted(default_catalog().engines.values(), key=lambda e: e.id)
    return [
        ServerAnswers(),
        ThisDevice(),
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
              progress: Callable[[CheckResult], None] | None = None,
              lookup: SystemLookup | None = None) -> list[CheckResult]:
    """Every check in turn; ``lookup`` is the device's resolver (default: the system's)."""
    ctx = DrillContext(options, ask or dns_asker(options.server, options.port, options.timeout),
                       lookup=lookup or system_lookup)
    results: list[CheckResult] = []
    for check in checks if checks is not None else all_checks():
        result = check.run(ctx)
        results.append(result)
        if progress is not None:
            progress(result)
        if check.id == "server" and result.status == "fail":
            break  # nothing else can work; say so once
    return results
