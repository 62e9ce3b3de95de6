"""Reading what a forwarding router or a load balancer says about the real client: dnsmasq's
MAC option (65001, binary, text or base64), EDNS Client Subnet, and PROXY v2 headers as dnsdist
writes them; and matching a MAC to its profile."""

from __future__ import annotations

import base64
import ipaddress
import struct

import dns.edns
import dns.message
import dns.query
import pytest

from kidshield.config import parse_config
from kidshield.dns.clienthints import OPTION_MAC, ClientHints, client_hints
from kidshield.dns.wire import parse_question
from kidshield.profiles import ClientMatcher
from tests.dns.conftest import ADULT, HOUSEHOLD, KID, Served, ServeFactory, addresses

BLOCK_PAGE = ["127.0.0.1"]  # the kid profile's block answer (the block page's address)

MAC = "aa:bb:cc:0d:0e:0f"


def query(*options: dns.edns.Option) -> bytes:
    msg = dns.message.make_query("tiktok.com", "A", use_edns=0, options=list(options))
    return msg.to_wire()


def hints(data: bytes) -> ClientHints:
    return client_hints(data, parse_question(data))


@pytest.mark.parametrize("value", [
    bytes.fromhex(MAC.replace(":", "")),  # dnsmasq add-mac (default)
    MAC.encode(),  # add-mac=text
    base64.b64encode(bytes.fromhex(MAC.replace(":", ""))),  # add-mac=base64
], ids=["binary", "text", "base64"])
def test_dnsmasq_add_mac_in_every_format_gives_the_mac(value: bytes) -> None:
    got = hints(query(dns.edns.GenericOption(OPTION_MAC, value)))
    assert got.mac == MAC and got.subnet is None


def test_client_subnet_gives_the_device_address_or_its_subnet() -> None:
    got = hints(query(dns.edns.ECSOption("192.168.1.23", 32)))
    assert got.subnet == ipaddress.ip_network("192.168.1.23/32")
    got = hints(query(dns.edns.ECSOption("2001:db8:1:2::", 56)))
    assert got.subnet == ipaddress.ip_network("2001:db8:1::/56")
    both = hints(query(dns.edns.ECSOption("10.1.2.0", 24),
                       dns.edns.GenericOption(OPTION_MAC, bytes(range(6)))))
    assert both.mac == "00:01:02:03:04:05"
    assert both.subnet == ipaddress.ip_network("10.1.2.0/24")


@pytest.mark.parametrize("value", [b"", b"\x01\x02\x03", b"not-a-mac-address", b"!!!!!!!!"])
def test_a_malformed_mac_option_is_ignored(value: bytes) -> None:
    assert not hints(query(dns.edns.GenericOption(OPTION_MAC, value)))


def test_a_malformed_subnet_option_is_ignored() -> None:
    bad = dns.edns.GenericOption(8, struct.pack("!HBB", 1, 40, 0) + b"\x0a\x01\x02\x03\x04")
    assert not hints(query(bad))
    assert not hints(dns.message.make_query("tiktok.com", "A").to_wire())  # no EDNS at all


def test_a_mac_selects_its_profile_before_the_routers_address() -> None:
    config = parse_config(f"""
[[clients]]
name = "router"
profile = "grownups"
addresses = ["192.168.1.1"]

[[clients]]
name = "mia's tablet"
profile = "mia"
macs = ["{MAC.upper().replace(':', '-')}"]

[profiles.mia]
age_band = "9-12"

[profiles.grownups]
age_band = "adult"
""")
    matcher = ClientMatcher(config)
    assert matcher.profile_for("192.168.1.1", mac=MAC) == "mia"
    assert matcher.profile_for("192.168.1.1") == "grownups"
    assert matcher.profile_for("192.168.1.1", mac="00:00:00:00:00:01") == "grownups"


FORWARDER = "127.0.0.5"  # a home router running dnsmasq with add-mac / add-subnet
BEHIND = HOUSEHOLD + f"""
[[clients]]
name = "kid phone"
profile = "kid"
macs = ["{MAC}"]
"""


def _ask(served: Served, source: str, *options: dns.edns.Option) -> list[str]:
    q = dns.message.make_query("denied.example", "A", use_edns=0, options=list(options))
    return addresses(dns.query.udp(q, "127.0.0.1", port=served.port, timeout=3, source=source))


def test_a_trusted_forwarder_s_mac_option_selects_the_device_s_profile(
    serve: ServeFactory,
) -> None:
    served = serve(rest=BEHIND, dns_options={"trusted_forwarders": [f"{FORWARDER}/32"]})
    mac = dns.edns.GenericOption(OPTION_MAC, bytes.fromhex(MAC.replace(":", "")))
    allowed = ["192.0.2.1"]  # what the fake upstream answers
    for _ in range(2):  # the second time too: the router's address never takes the fast path
        assert _ask(served, FORWARDER, mac) == BLOCK_PAGE  # the kid's phone behind the router
        assert _ask(served, FORWARDER) == allowed  # another device behind it: no kid rules
    assert _ask(served, ADULT, mac) == allowed  # anyone else's MAC option is not believed
    # dnsmasq's add-subnet: the device's own address selects its profile as if it asked
    assert _ask(served, FORWARDER, dns.edns.ECSOption(KID, 32)) == BLOCK_PAGE
    assert _ask(served, ADULT, dns.edns.ECSOption(KID, 32)) == allowed
