"""PROXY protocol v2 from a load balancer listed in ``[dns] proxy_protocol_from``, against the
server as ``kidshield serve`` composes it: the client the header names is the one whose profile,
rate limit and log row the query gets; the balancer's answers carry no header; from the
balancer a header is required, from anyone else it is never read. (tests/fleet/test_dnsdist.py
does the same through a real dnsdist.)"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import time
from pathlib import Path

import dns.message
import dns.rcode
import pytest
from prometheus_client import generate_latest

from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    TEEN,
    Served,
    ServeFactory,
    addresses,
    log_rows,
    recv_exactly,
)
from tests.dns.proxyheaders import STREAM, header, local

BALANCER = "127.0.0.5"  # dnsdist's address as kidshield sees it
KID6 = "fd00::7"  # in the default allow_networks (the ACL applies to the client)
BLOCK_PAGE = ["127.0.0.1"]  # the kid profile's answer for denied.example
ALLOWED = ["192.0.2.1"]  # what the fake upstream answers
REST = HOUSEHOLD + f"""
[[clients]]
name = "kid phone on IPv6"
profile = "kid"
addresses = ["{KID6}/128"]
"""


@pytest.fixture
def served(serve: ServeFactory) -> Served:
    return serve(rest=REST, dns_options={"proxy_protocol_from": [f"{BALANCER}/32"]})


def query(name: str = "denied.example", qid: int = 0x4242) -> bytes:
    q = dns.message.make_query(name, "A", use_edns=False)
    q.id = qid
    return q.to_wire()


def over_udp(served: Served, data: bytes, source: str = BALANCER,
             timeout: float = 3.0) -> dns.message.Message | None:
    """Send one datagram from ``source``; its reply as a DNS message, None if none came."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.sendto(data, ("127.0.0.1", served.port))
        try:
            reply = sock.recv(65535)
        except TimeoutError:
            return None
    return dns.message.from_wire(reply)  # no header before it: it parses as DNS as it is


def proxy_metric(served: Served, result: str) -> float:
    text = generate_latest(served.app.dns.metrics.registry).decode()
    line = f'kidshield_dns_proxy_headers_total{{result="{result}"}} '
    for row in text.splitlines():
        if row.startswith(line):
            return float(row[len(line):])
    raise AssertionError(f"{line} not in {text}")


def test_the_client_in_the_header_chooses_the_profile_over_udp(served: Served) -> None:
    for _ in range(2):  # the second time from the ready answers (the fast path)
        kid = over_udp(served, header(KID) + query())
        teen = over_udp(served, header(TEEN) + query())
        kid6 = over_udp(served, header(KID6) + query())
        assert kid is not None and teen is not None and kid6 is not None
        assert addresses(kid) == BLOCK_PAGE
        assert addresses(teen) == ALLOWED
        assert addresses(kid6) == BLOCK_PAGE
        assert kid.id == 0x4242
    assert proxy_metric(served, "accepted") == 6
    rows = log_rows(served)
    assert {r["client"] for r in rows} == {KID, TEEN, KID6}  # never the balancer
    assert {(r["client"], r["profile"]) for r in rows} == {(KID, "kid"), (TEEN, "teen"),
                                                          (KID6, "kid")}


def test_a_local_header_is_the_balancer_asking_for_itself(served: Served) -> None:
    own = over_udp(served, local() + query())
    assert own is not None and addresses(own) == ALLOWED  # the balancer's own address: no kid


def test_from_the_balancer_a_query_without_a_header_is_dropped_and_counted(
    served: Served,
) -> None:
    assert over_udp(served, query(), timeout=0.5) is None
    assert over_udp(served, header(KID)[:20], timeout=0.5) is None
    bad_version = bytearray(header(KID) + query())
    bad_version[12] = 0x11
    assert over_udp(served, bytes(bad_version), timeout=0.5) is None
    assert proxy_metric(served, "missing") == 1
    assert proxy_metric(served, "truncated") == 1
    assert proxy_metric(served, "version") == 1
    assert proxy_metric(served, "accepted") == 0
    assert log_rows(served) == []  # nothing was answered as the balancer
    # and the listener goes on answering
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE


def test_from_anyone_else_a_header_is_never_read(served: Served) -> None:
    # a device that puts a header naming the adult in front of its query is not believed:
    # the bytes are read as DNS, which they are not
    reply = over_udp(served, header(ADULT) + query(), source=KID, timeout=1.0)
    assert reply is None or reply.rcode() in (dns.rcode.FORMERR, dns.rcode.NOTIMP)
    assert proxy_metric(served, "accepted") == 0
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE


def test_without_the_setting_a_header_is_never_read(serve: ServeFactory) -> None:
    served = serve(rest=REST)
    reply = over_udp(served, header(TEEN) + query(), timeout=1.0)
    assert reply is None or reply.rcode() in (dns.rcode.FORMERR, dns.rcode.NOTIMP)
    assert addresses(served.query("denied.example", source=BALANCER)) == ALLOWED


def test_the_rate_limit_counts_the_clients_behind_the_balancer(serve: ServeFactory) -> None:
    served = serve(rest=REST, dns_options={"proxy_protocol_from": [f"{BALANCER}/32"],
                                           "rate_limit_qps": 5})
    limited = 0
    for i in range(40):  # a burst from the kid, well over 5 a second (burst 10)
        reply = over_udp(served, header(KID) + query(f"n{i}.example"), timeout=0.1)
        limited += reply is None or bool(reply.flags & dns.flags.TC)
    assert limited >= 20
    # the teen behind the same balancer is not held back by the kid's burst
    teen = over_udp(served, header(TEEN) + query("fine.example"))
    assert teen is not None and not teen.flags & dns.flags.TC
    assert addresses(teen) == ALLOWED


def _tcp(served: Served, source: str = BALANCER) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(3)
    sock.connect(("127.0.0.1", served.port))
    return sock


def _framed(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _read_answer(sock: socket.socket) -> dns.message.Message:
    size = struct.unpack("!H", recv_exactly(sock, 2))[0]
    return dns.message.from_wire(recv_exactly(sock, size))


def test_a_tcp_connection_s_header_names_the_client_of_every_query_on_it(
    served: Served,
) -> None:
    first = header(KID, protocol=STREAM)
    with _tcp(served) as sock:
        sock.sendall(first[:7])  # the header may come in pieces
        time.sleep(0.05)
        sock.sendall(first[7:] + _framed(query(qid=1)))
        assert addresses(_read_answer(sock)) == BLOCK_PAGE
        sock.sendall(_framed(query(qid=2)))
        assert addresses(_read_answer(sock)) == BLOCK_PAGE
    with _tcp(served) as sock:
        sock.sendall(header(TEEN, protocol=STREAM) + _framed(query()))
        assert addresses(_read_answer(sock)) == ALLOWED
    assert proxy_metric(served, "accepted") == 2


def test_a_tcp_connection_from_the_balancer_without_a_header_is_closed_unanswered(
    served: Served,
) -> None:
    with _tcp(served) as sock:
        sock.sendall(_framed(query()))
        with pytest.raises((ConnectionError, OSError)):
            _read_answer(sock)
    deadline = time.monotonic() + 3
    while proxy_metric(served, "missing") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy_metric(served, "missing") == 1
    # a TCP header from anyone else is not read either: the stream is DNS, and this is not
    with _tcp(served, source=KID) as sock:
        sock.settimeout(0.5)  # its first bytes read as a length: the server waits for more
        sock.sendall(header(ADULT, protocol=STREAM) + _framed(query()))
        try:
            reply: dns.message.Message | None = _read_answer(sock)
        except (ConnectionError, OSError, dns.exception.DNSException):
            reply = None
        assert reply is None or addresses(reply) != ALLOWED
    assert proxy_metric(served, "accepted") == 0


def test_dropped_headers_are_one_warning_a_minute_naming_the_balancer(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="kidshield.dns"):
        for _ in range(5):
            assert over_udp(served, query(), timeout=0.3) is None
    warned = [r.getMessage() for r in caplog.records if "PROXY" in r.getMessage()]
    assert len(warned) == 1, warned  # a flood is one line, not one per datagram
    assert BALANCER in warned[0] and "proxy_protocol_from" in warned[0]
    assert proxy_metric(served, "missing") == 5


def test_the_setting_follows_a_reload(serve: ServeFactory) -> None:
    served = serve(rest=REST)
    assert addresses(served.query("denied.example", source=BALANCER)) == ALLOWED
    text = served.config_path.read_text(encoding="utf-8")
    served.write_config(text.replace("[dns]\n", f'[dns]\nproxy_protocol_from = ["{BALANCER}"]\n'))
    assert served.reload() is True
    kid = over_udp(served, header(KID) + query())
    assert kid is not None and addresses(kid) == BLOCK_PAGE
    assert over_udp(served, query(), timeout=0.3) is None  # now a header is required
    served.write_config(text)
    assert served.reload() is True
    assert addresses(served.query("denied.example", source=BALANCER)) == ALLOWED


def test_dns_over_tls_from_the_balancer_carries_the_header_inside_tls(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    served = serve(rest=REST, dns_options={
        "proxy_protocol_from": [f"{BALANCER}/32"], "dot_listen": ["127.0.0.1:0"],
        "tls_certificate": str(cert), "tls_key": str(key)})
    ctx = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", served.bound("dot")), timeout=3,
                                  source_address=(BALANCER, 0)) as raw, \
            ctx.wrap_socket(raw, server_hostname="dns.test") as sock:
        sock.sendall(header(KID, protocol=STREAM) + _framed(query()))
        assert addresses(_read_answer(sock)) == BLOCK_PAGE
