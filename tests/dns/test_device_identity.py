"""Which profile answers a device over DoH and DoT (issue 14 item 1): a name anyone can type
never takes a device out of the profile its address has; a secret the dashboard issued does,
from anywhere, without plain DNS being opened to the internet; DoT is rate-limited like
plain DNS and DoH."""

from __future__ import annotations

import plistlib
import re
import socket
import ssl
import struct
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from kidshield.clock import FixedClock
from kidshield.dns.ratelimit import Verdict
from tests.dns.conftest import KID, Served, ServeFactory, addresses, make_query, recv_exactly
from tests.e2e.harness import PASSWORD, csrf_of, sign_in

SECRET = "q7rk2mzt4wbx6ndh5vpa"  # what the dashboard issues: random base32
OUTSIDE = "127.0.0.9"  # not in allow_networks below: "the internet"

FAMILY = f"""
[[clients]]
name = "kid tablet"
profile = "kid"
addresses = ["127.0.0.2"]
client_ids = ["kid-tablet"]

[[clients]]
name = "dad phone"
profile = "dad"
client_ids = ["dad-phone"]
secret_ids = ["{SECRET}"]

[profiles.kid]
age_band = "9-12"
deny = ["denied.example"]

[profiles.dad]
age_band = "adult"
"""

ALLOWED = ["127.0.0.1/32", "127.0.0.2/32", "127.0.0.3/32"]


def _dot(served: Served, cert: Path, sni: str, source: str = KID,
         name: str = "denied.example") -> dns.message.Message:
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False  # a child's own client need not check the name it sends
    return dns.query.tls(make_query(name), "127.0.0.1", port=served.bound("dot"), timeout=3,
                         ssl_context=ctx, server_hostname=sni, source=source)


def _doh(served: Served, path: str, source: str = KID,
         name: str = "denied.example") -> httpx.Response:
    # the web server is HTTPS with the DoT certificate (for 127.0.0.1 too)
    config = served.app.config
    ca = ssl.create_default_context(cafile=str(config.path(config.dns.tls_certificate or "")))
    transport = httpx.HTTPTransport(local_address=source, verify=ca)
    with httpx.Client(base_url=served.url, transport=transport, timeout=5) as http:
        return http.post(path, content=make_query(name).to_wire(),
                         headers={"content-type": "application/dns-message"})


def _serve(serve: ServeFactory, tls_files: tuple[Path, Path], **dns_options: object) -> Served:
    cert, key = tls_files
    options: dict[str, object] = {"dot_listen": ["127.0.0.1:0"], "tls_certificate": str(cert),
                                  "tls_key": str(key), "allow_networks": ALLOWED}
    options.update(dns_options)
    return serve(rest=FAMILY, dns_options=options, web=True)


def test_a_named_id_never_takes_a_child_device_out_of_its_profile(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    served = _serve(serve, tls_files)
    cert = tls_files[0]
    # the kid's tablet naming itself as dad's phone still gets the kid's answers
    assert addresses(_dot(served, cert, "dad-phone.dns.test")) == ["127.0.0.1"]
    answer = _doh(served, "/dns-query/dad-phone")
    assert addresses(dns.message.from_wire(answer.content)) == ["127.0.0.1"]
    # a device nothing places (127.0.0.1) may still be named, as before
    assert addresses(_dot(served, cert, "dad-phone.dns.test", "127.0.0.1")) == ["192.0.2.1"]
    assert addresses(_dot(served, cert, "kid-tablet.dns.test", "127.0.0.1")) == ["127.0.0.1"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.one_of(
    st.sampled_from(["dad-phone", "DAD-PHONE", "dad", "kid-tablet", "default", SECRET[:-1],
                     SECRET + "a", SECRET[1:], SECRET.upper()[:-1] + "x", "dad-phone%00"]),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,40}", fullmatch=True)))
def test_a_child_device_cannot_reach_another_profile_by_any_id_it_can_choose(
    serve: ServeFactory, tls_files: tuple[Path, Path], chosen: str,
) -> None:
    served = _profile_server(serve, tls_files)
    blocked = ["127.0.0.1"]
    doh = _doh(served, f"/dns-query/{chosen}")
    assert doh.status_code == 200, doh.text
    assert addresses(dns.message.from_wire(doh.content)) == blocked
    label = chosen.strip("-") or "x"
    assert addresses(_dot(served, tls_files[0], f"{label}.dns.test")) == blocked


_served: dict[str, Served] = {}


def _profile_server(serve: ServeFactory, tls_files: tuple[Path, Path]) -> Served:
    """One server for all of hypothesis' examples (the fixture is per test function)."""
    key = str(id(serve))
    if key not in _served:
        _served.clear()
        _served[key] = _serve(serve, tls_files)
    return _served[key]


def test_a_device_secret_selects_its_profile_from_outside_the_home_network(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    served = _serve(serve, tls_files)
    cert = tls_files[0]
    # from the kid's own address, the secret is dad's phone (the secret proves the device)
    assert addresses(_dot(served, cert, f"{SECRET}.dns.test")) == ["192.0.2.1"]
    # from outside allow_networks: plain DNS and a named id are refused ...
    assert served.query("fine.example", source=OUTSIDE).rcode() == dns.rcode.REFUSED
    assert _dot(served, cert, "dad-phone.dns.test", OUTSIDE).rcode() == dns.rcode.REFUSED
    named = _doh(served, "/dns-query/dad-phone", OUTSIDE, "fine.example")
    assert dns.message.from_wire(named.content).rcode() == dns.rcode.REFUSED
    # ... and the secret, over DoT or DoH, is answered with its profile
    away = _dot(served, cert, f"{SECRET}.dns.test", OUTSIDE, "fine.example")
    assert away.rcode() == dns.rcode.NOERROR and addresses(away) == ["192.0.2.1"]
    doh = _doh(served, f"/dns-query/{SECRET}", OUTSIDE, "fine.example")
    assert addresses(dns.message.from_wire(doh.content)) == ["192.0.2.1"]


def test_dns_over_tls_is_rate_limited_by_holding_the_device_back(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    served = _serve(serve, tls_files, rate_limit_qps=5)
    ctx = ssl.create_default_context(cafile=str(tls_files[0]))
    names = [f"n{i}.example" for i in range(16)]
    payload = b""
    for i, name in enumerate(names):
        q = make_query(name)
        q.id = 100 + i
        wire = q.to_wire()
        payload += struct.pack("!H", len(wire)) + wire
    answered = set()
    clock = served.clock
    assert isinstance(clock, FixedClock)
    with socket.create_connection(("127.0.0.1", served.bound("dot")), timeout=10,
                                  source_address=(KID, 0)) as raw, \
            ctx.wrap_socket(raw, server_hostname="dns.test") as tls:
        tls.sendall(payload)
        tls.settimeout(0.5)
        for _ in range(40):  # every query is answered: held back, not dropped
            try:
                size = struct.unpack("!H", recv_exactly(tls, 2))[0]
            except TimeoutError:
                assert len(answered) >= 10  # the burst went through at once
                served.call(clock.advance, timedelta(seconds=1))  # the device's tokens refill
                continue
            answered.add(dns.message.from_wire(recv_exactly(tls, size)).id)
            if len(answered) == len(names):
                break
    assert answered == {100 + i for i in range(len(names))}
    resolver = served.app.dns.resolver
    assert resolver.rate_limited.get(Verdict.WAIT, 0) >= 1  # burst is 10: some had to wait
    served.pump()
    metrics = generate_latest(served.app.dns.metrics.registry).decode()
    assert 'kidshield_dns_rate_limited_total{verdict="wait"}' in metrics



def test_a_parent_issues_a_device_secret_on_the_dashboard_and_the_device_uses_it_away(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    served = _serve(serve, tls_files, tls_name="dns.test")
    ca = ssl.create_default_context(cafile=str(tls_files[0]))
    http = served.client(verify=ca)
    made = http.post("/api/v1/setup", json={"token": served.web.setup_token, "name": "Alex",
                                            "password": PASSWORD})
    assert made.status_code == 201, made.text
    sign_in(http, "Alex")
    kid = 0  # the kid's tablet: known by its address, no secret yet
    devices = http.get("/devices")
    assert f'action="/devices/{kid}/secret"' in devices.text
    issued = http.post(f"/devices/{kid}/secret", data={"csrf": csrf_of(devices.text)})
    assert issued.status_code == 200 and issued.url.path == f"/devices/{kid}/encrypted-dns"
    found = re.search(r"https://dns\.test:\d+/dns-query/([a-z2-7]{26})", issued.text)
    assert found, issued.text
    secret, doh_url = found.group(1), found.group(0)
    assert f"{secret}.dns.test" in issued.text  # Android's Private DNS name
    assert 'src="data:image/svg+xml' in issued.text  # the QR code
    # the Apple profile carries the same address
    profile = plistlib.loads(http.get(f"/devices/{kid}/kidshield.mobileconfig").content)
    assert profile["PayloadContent"][0]["DNSSettings"] == {"DNSProtocol": "HTTPS",
                                                           "ServerURL": doh_url}
    # away from home, the secret gets the kid's profile over DoH and DoT
    path = urlsplit(doh_url).path
    away = _doh(served, path, OUTSIDE)
    assert addresses(dns.message.from_wire(away.content)) == ["127.0.0.1"]
    assert addresses(_dot(served, tls_files[0], f"{secret}.dns.test", OUTSIDE)) == [
        "127.0.0.1"]
    # the secret is in no list a reader sees, and new settings end the old ones
    listed = http.get("/api/v1/clients").json()
    assert listed[kid]["secret"] is True and secret not in str(listed)
    page = http.get(f"/devices/{kid}/encrypted-dns")
    renewed = http.post(f"/devices/{kid}/secret", data={"csrf": csrf_of(page.text)})
    assert secret not in renewed.text
    refused = _doh(served, path, OUTSIDE)
    assert dns.message.from_wire(refused.content).rcode() == dns.rcode.REFUSED


def test_with_tls_the_banner_and_setup_link_say_https(
    serve: ServeFactory, tls_files: tuple[Path, Path], capfd: pytest.CaptureFixture[str],
) -> None:
    served = _serve(serve, tls_files)
    printed = capfd.readouterr().err
    assert served.url.startswith("https://")
    assert f"{served.url}/setup?token=" in printed and "http://" not in printed


def test_x_forwarded_for_is_not_believed_unless_the_proxy_is_configured(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    """A device on the machine itself (or any local process) cannot pose as another device
    by a header: the DoH answer is for the connection's address."""
    claimed = {"x-forwarded-for": KID, "forwarded": f"for={KID}"}
    served = _serve(serve, tls_files)
    config = served.app.config
    ca = ssl.create_default_context(cafile=str(config.path(config.dns.tls_certificate or "")))
    wire = make_query("denied.example").to_wire()
    with httpx.Client(base_url=served.url, verify=ca, timeout=5) as http:
        answer = http.post("/dns-query", content=wire, headers={
            "content-type": "application/dns-message", **claimed})
    assert addresses(dns.message.from_wire(answer.content)) == ["192.0.2.1"]  # 127.0.0.1's
