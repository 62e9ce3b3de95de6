"""Per-profile blocking, block modes, CNAME chains, access control and special names, over
real UDP sockets against a fake upstream."""

from __future__ import annotations

from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    TEEN,
    FakeUpstream,
    ServeFactory,
    addresses,
    make_query,
)


def test_each_client_address_gets_its_own_profile(serve: ServeFactory) -> None:
    served = serve()
    kid = served.query("denied.example", source=KID)
    adult = served.query("denied.example", source=ADULT)
    teen = served.query("www.denied.example", source=TEEN)
    assert addresses(kid) == ["127.0.0.1"]  # the block page lives on the listen address
    assert addresses(adult) == ["192.0.2.1"]
    assert addresses(teen) == ["192.0.2.1"]
    # the kid's profile blocks subdomains of a denied name too, and keeps doing so from the
    # ready-answer fast path
    assert addresses(served.query("www.denied.example", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("denied.example", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("denied.example", source=ADULT)) == ["192.0.2.1"]


def test_a_service_blocked_for_the_age_band_is_blocked_for_the_child_only(
    serve: ServeFactory,
) -> None:
    served = serve()
    # TikTok's terms need 13+: blocked for the 9-12 profile, allowed for the 13-15 one
    assert addresses(served.query("www.tiktok.com", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("www.tiktok.com", source=TEEN)) == ["192.0.2.1"]


@pytest.mark.parametrize(
    ("mode", "extra", "a", "aaaa"),
    [
        ("block_page", {"block_page_ipv4": "192.0.2.80", "block_page_ipv6": "2001:db8::80"},
         ["192.0.2.80"], ["2001:db8::80"]),
        ("block_page", {}, ["127.0.0.1"], ["::"]),
        ("null_ip", {}, ["0.0.0.0"], ["::"]),
    ],
)
def test_address_block_modes_answer_with_the_configured_address_and_the_block_ttl(
    serve: ServeFactory, mode: str, extra: dict[str, object], a: list[str], aaaa: list[str],
) -> None:
    served = serve(dns_options={"block_mode": mode, "block_ttl": 7, **extra})
    for rdtype, expected in (("A", a), ("AAAA", aaaa)):
        answer = served.query("denied.example", rdtype, source=KID)
        assert answer.rcode() == dns.rcode.NOERROR
        assert addresses(answer) == expected
        assert [rrset.ttl for rrset in answer.answer] == [7]
        # the same again from the fast path: same answer, same short TTL
        again = served.query("denied.example", rdtype, source=KID)
        assert addresses(again) == expected
        assert [rrset.ttl for rrset in again.answer] == [7]
    assert served.upstream.count("denied.example") == 0  # blocked names never go upstream


@pytest.mark.parametrize(("mode", "rcode"), [("nxdomain", dns.rcode.NXDOMAIN),
                                             ("refused", dns.rcode.REFUSED)])
def test_rcode_block_modes_answer_with_that_rcode_and_no_records(
    serve: ServeFactory, mode: str, rcode: dns.rcode.Rcode,
) -> None:
    served = serve(dns_options={"block_mode": mode})
    for rdtype in ("A", "AAAA", "HTTPS"):
        answer = served.query("denied.example", rdtype, source=KID)
        assert answer.rcode() == rcode
        assert answer.answer == []


def test_https_query_for_a_blocked_name_gets_nodata(serve: ServeFactory) -> None:
    served = serve()
    answer = served.query("denied.example", "HTTPS", source=KID)
    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.answer == []
    svcb = served.query("denied.example", "SVCB", source=KID)
    assert svcb.rcode() == dns.rcode.NOERROR and svcb.answer == []


def test_edns_queries_for_blocked_names_carry_extended_error_filtered(
    serve: ServeFactory,
) -> None:
    served = serve()
    for _ in range(2):  # slow path, then the ready answer
        answer = served.query("denied.example", source=KID, edns=True)
        assert answer.edns == 0
        errors = answer.extended_errors()
        assert [e.code for e in errors] == [dns.edns.EDECode.FILTERED]
        assert "deny_list" in (errors[0].text or "")
    plain = served.query("denied.example", source=KID)
    assert plain.edns < 0  # no OPT record for a client that sent none
    allowed = served.query("fine.example", source=KID, edns=True)
    assert allowed.extended_errors() == []


def _list_file(tmp_path: Path, *domains: str) -> Path:
    path = tmp_path / "blocklist.txt"
    path.write_text("\n".join(domains) + "\n", encoding="utf-8")
    return path


def test_a_helpline_whose_cname_chain_reaches_a_blocked_name_still_resolves(
    serve: ServeFactory, upstream: FakeUpstream, tmp_path: Path,
) -> None:
    # an operator's own helpline (config [[helplines]]) hosted behind a CDN whose names a list
    # blocks, and the list blocks the helpline's own name too: the helpline wins both times
    upstream.cname("help.example", "edge.cdn.example")
    path = _list_file(tmp_path, "cdn.example", "help.example")
    rest = HOUSEHOLD + (
        f'\n[[lists]]\nname = "all"\nsource = "{path}"\ncategory = "adult"\n'
        '\n[[helplines]]\nid = "zz-local-help"\ncountry = "GB"\nname = "Local help"\n'
        'url = "https://help.example"\ndomains = ["help.example"]\n')
    served = serve(rest=rest)
    for _ in range(2):  # the second answer comes from the ready-answer fast path
        answer = served.query("help.example", source=KID)
        assert addresses(answer) == ["192.0.2.1"]
        assert answer.answer[0].rdtype == dns.rdatatype.CNAME
    assert addresses(served.query("edge.cdn.example", source=KID)) == ["127.0.0.1"]


@pytest.mark.parametrize("how", ["deny", "list"])
def test_an_allowed_name_whose_cname_chain_reaches_a_blocked_name_is_blocked(
    serve: ServeFactory, upstream: FakeUpstream, tmp_path: Path, how: str,
) -> None:
    upstream.cname("allowed.example", "hop.cdn.example")
    upstream.cname("hop.cdn.example", "tracker.blocked.example")
    if how == "deny":
        rest = HOUSEHOLD.replace('deny = ["denied.example"]',
                                 'deny = ["denied.example", "blocked.example"]')
    else:
        path = _list_file(tmp_path, "blocked.example")
        rest = HOUSEHOLD + f'\n[[lists]]\nname = "adult"\nsource = "{path}"\ncategory = "adult"\n'
    served = serve(rest=rest)
    for _ in range(2):
        blocked = served.query("allowed.example", source=KID)
        assert addresses(blocked) == ["127.0.0.1"]
        assert blocked.answer[0].rdtype == dns.rdatatype.A  # no CNAME leaks to the child
    # the adult profile gets the full chain from upstream
    adult = served.query("allowed.example", source=ADULT)
    assert [r.rdtype for r in adult.answer] == [dns.rdatatype.CNAME, dns.rdatatype.CNAME,
                                                dns.rdatatype.A]
    assert addresses(adult) == ["192.0.2.1"]


def test_clients_outside_allow_networks_are_refused(serve: ServeFactory) -> None:
    served = serve(dns_options={"allow_networks": ["10.0.0.0/8", "::1/128"]})
    for _ in range(2):
        answer = served.query("fine.example", source=KID)
        assert answer.rcode() == dns.rcode.REFUSED
        assert answer.answer == []
    assert served.query("fine.example", proto="tcp").rcode() == dns.rcode.REFUSED
    assert served.upstream.count("fine.example") == 0


def test_firefox_canary_is_nxdomain_for_everyone(serve: ServeFactory) -> None:
    served = serve()
    for source in (ADULT, KID, ADULT):
        answer = served.query("use-application-dns.net", source=source)
        assert answer.rcode() == dns.rcode.NXDOMAIN
    assert served.upstream.count("use-application-dns.net") == 0


def test_designated_resolver_discovery_gets_nodata(serve: ServeFactory) -> None:
    served = serve()
    for name in ("_dns.resolver.arpa", "_dns.127.0.0.1._dns.resolver.arpa"):
        answer = served.query(name, "SVCB", source=KID)
        assert answer.rcode() == dns.rcode.NOERROR
        assert answer.answer == []
    assert served.upstream.count("_dns.resolver.arpa") == 0


def test_icloud_private_relay_is_nxdomain_with_bypass_protection(serve: ServeFactory) -> None:
    served = serve()  # block_mode is block_page, but Apple needs NXDOMAIN here
    for name in ("mask.icloud.com", "mask-h2.icloud.com", "mask-canary.icloud.com"):
        for rdtype in ("A", "AAAA", "HTTPS"):
            answer = served.query(name, rdtype, source=KID)
            assert answer.rcode() == dns.rcode.NXDOMAIN, (name, rdtype)
        assert served.upstream.count(name) == 0
    # a profile without bypass protection (the adult defaults) reaches it
    assert addresses(served.query("mask.icloud.com", source=ADULT)) == ["192.0.2.1"]
    # a VPN site is blocked for the child the same way
    assert served.query("nordvpn.com", source=KID).rcode() == dns.rcode.NXDOMAIN
    # and so are the names a clever child tries next: a browser-extension VPN, a tunnel
    for name in ("1clickvpn.com", "my-proxy.ngrok-free.app", "abc.ngrok.io"):
        assert served.query(name, source=KID).rcode() == dns.rcode.NXDOMAIN, name


def test_an_ipv6_client_on_an_ipv6_listener_gets_its_profile_and_a_v6_block_page(
    serve: ServeFactory,
) -> None:
    rest = HOUSEHOLD.replace('addresses = ["127.0.0.2"]', 'addresses = ["127.0.0.2", "::1"]')
    served = serve(rest=rest, dns_options={"listen": ["127.0.0.1:0", "[::1]:0"]})
    v6_port = next(p for proto, host, p in served.app.bound
                   if proto == "udp" and host == "::1")

    def ask(name: str, rdtype: str, proto: str = "udp") -> dns.message.Message:
        query = make_query(name, rdtype)
        if proto == "tcp":
            return dns.query.tcp(query, "::1", port=v6_port, timeout=2)
        return dns.query.udp(query, "::1", port=v6_port, timeout=2)

    # the block page addresses come from the listen addresses of each family
    assert addresses(ask("denied.example", "AAAA")) == ["::1"]
    assert addresses(ask("denied.example", "A")) == ["127.0.0.1"]
    assert addresses(ask("denied.example", "AAAA", "tcp")) == ["::1"]
    assert addresses(ask("fine.example", "AAAA")) == ["2001:db8::1"]
    # 127.0.0.1 is not mapped to a profile: the adult defaults
    assert addresses(served.query("denied.example", "AAAA", source=ADULT)) == ["2001:db8::1"]
