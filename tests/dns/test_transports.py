"""TCP (pipelining, idle timeout, truncation fallback), DNS over TLS, DNS over HTTPS and
listener bind errors."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from kidshield.app import Application
from kidshield.clock import FixedClock
from kidshield.dns import server as dns_server
from kidshield.dns.server import BindError
from kidshield.errors import KidshieldError
from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    NOON,
    FakeUpstream,
    LoopThread,
    Served,
    ServeFactory,
    addresses,
    config_text,
    make_query,
    recv_exactly,
)


def test_pipelined_tcp_queries_on_one_connection_are_all_answered(serve: ServeFactory) -> None:
    served = serve()
    served.query("ready.example", source=KID, proto="tcp")  # one of them is a ready answer
    names = [f"n{i}.example" for i in range(30)] + ["denied.example", "ready.example"]
    queries = {}
    with socket.create_connection(("127.0.0.1", served.port), timeout=3,
                                  source_address=(KID, 0)) as sock:
        payload = b""
        for i, name in enumerate(names):
            q = make_query(name)
            q.id = 1000 + i
            queries[q.id] = name
            wire = q.to_wire()
            payload += struct.pack("!H", len(wire)) + wire
        sock.sendall(payload)  # all at once, without waiting for any answer
        answers = {}
        for _ in names:
            size = struct.unpack("!H", recv_exactly(sock, 2))[0]
            msg = dns.message.from_wire(recv_exactly(sock, size))
            answers[msg.id] = msg
    assert sorted(answers) == sorted(queries)
    for qid, msg in answers.items():
        name = queries[qid]
        assert msg.question[0].name.to_text(omit_final_dot=True) == name
        expected = ["127.0.0.1"] if name == "denied.example" else ["192.0.2.1"]
        assert addresses(msg) == expected, name


def test_idle_tcp_connections_are_closed_after_the_timeout(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dns_server, "TCP_IDLE_TIMEOUT", 0.3)
    served = serve()
    with socket.create_connection(("127.0.0.1", served.port), timeout=3) as sock:
        wire = make_query("fine.example").to_wire()
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        size = struct.unpack("!H", recv_exactly(sock, 2))[0]
        assert addresses(dns.message.from_wire(recv_exactly(sock, size))) == ["192.0.2.1"]
        started = time.monotonic()
        assert sock.recv(10) == b""  # the server closed the idle connection
        assert 0.2 < time.monotonic() - started < 2.0
    with socket.create_connection(("127.0.0.1", served.port), timeout=3) as sock:
        assert sock.recv(10) == b""  # never sent anything: closed as well


def test_large_answers_over_udp_without_edns_are_truncated_and_retried_over_tcp(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    many = [f"192.0.2.{i}" for i in range(1, 61)]
    upstream.add("big.example", "A", *many)
    served = serve()
    for _ in range(2):  # slow path, then the ready answer
        q = make_query("big.example")
        truncated = dns.query.udp(q, "127.0.0.1", port=served.port, timeout=2)
        assert truncated.flags & dns.flags.TC
        assert truncated.answer == []
        answer, used_tcp = dns.query.udp_with_fallback(q, "127.0.0.1", port=served.port,
                                                       timeout=2)
        assert used_tcp
        assert sorted(addresses(answer)) == sorted(many)
    # our resolver hit the same truncation at the fake upstream and asked it over TCP too
    assert upstream.count("big.example", proto="tcp") >= 1
    # with EDNS and a big enough buffer, it fits in UDP
    big = served.query("big.example", edns=True)
    assert not big.flags & dns.flags.TC and len(addresses(big)) == 60


def _client_context(cert: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    return ctx


def test_dns_over_tls_answers_and_the_sni_first_label_selects_the_client(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    served = serve(dns_options={"dot_listen": ["127.0.0.1:0"], "tls_certificate": str(cert),
                                "tls_key": str(key)})
    port = served.bound("dot")
    ctx = _client_context(cert)

    def ask(name: str, sni: str) -> dns.message.Message:
        return dns.query.tls(make_query(name), "127.0.0.1", port=port, timeout=3,
                             ssl_context=ctx, server_hostname=sni)

    # the client connects from 127.0.0.1 (the adult defaults) but names itself kid-tablet
    assert addresses(ask("denied.example", "kid-tablet.dns.test")) == ["127.0.0.1"]
    assert addresses(ask("denied.example", "dns.test")) == ["192.0.2.1"]
    assert addresses(ask("fine.example", "kid-tablet.dns.test")) == ["192.0.2.1"]
    # an id nobody configured falls back to the address
    assert addresses(ask("denied.example", "stranger.dns.test")) == ["192.0.2.1"]


@pytest.fixture
def web(serve: ServeFactory) -> Served:
    return serve(web=True)


@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
def test_dns_over_https_answers_get_and_post(web: Served, post: bool) -> None:
    url = f"{web.url}/dns-query"
    answer = dns.query.https(make_query("fine.example"), url, post=post, timeout=3)
    assert addresses(answer) == ["192.0.2.1"]
    # the client address (127.0.0.1) has the adult defaults
    assert addresses(dns.query.https(make_query("denied.example"), url, post=post,
                                     timeout=3)) == ["192.0.2.1"]
    # /dns-query/<client id> selects that client's profile
    for _ in range(2):
        kid = dns.query.https(make_query("denied.example"), f"{url}/kid-tablet", post=post,
                              timeout=3)
        assert addresses(kid) == ["127.0.0.1"]


def test_dns_over_https_rejects_bad_requests(web: Served) -> None:
    with httpx.Client(base_url=web.url, timeout=3) as http:
        assert http.get("/dns-query").status_code == 400
        assert http.get("/dns-query", params={"dns": "!!!"}).status_code == 400
        assert http.post("/dns-query", content=b"\x00" * 20,
                         headers={"content-type": "text/plain"}).status_code == 415
        wire = make_query("fine.example").to_wire()
        ok = http.get("/dns-query", params={
            "dns": base64.urlsafe_b64encode(wire).rstrip(b"=").decode()})
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/dns-message"
        assert ok.headers["cache-control"] == "max-age=300"
        junk = http.post("/dns-query", content=b"\x12\x34garbage-garbage",
                         headers={"content-type": "application/dns-message"})
        assert junk.status_code == 200
        # its third byte ("g") says opcode 12: an opcode we do not implement (as Unbound says)
        assert dns.message.from_wire(junk.content).rcode() == dns.rcode.NOTIMP
        junk = http.post("/dns-query", content=b"\x12\x34\x01garbage-garbage",
                         headers={"content-type": "application/dns-message"})
        assert dns.message.from_wire(junk.content).rcode() == dns.rcode.FORMERR
        for not_a_query in (b"\x12\x34\x01", dns.message.make_response(
                make_query("fine.example")).to_wire()):
            bad = http.post("/dns-query", content=not_a_query,
                            headers={"content-type": "application/dns-message"})
            assert bad.status_code == 400


def _start_expecting_bind_error(lt: LoopThread, tmp_path: Path, upstream: FakeUpstream,
                                port: int) -> BindError:
    path = tmp_path / "bind.toml"
    path.write_text(config_text([upstream.url], {"listen": [f"127.0.0.1:{port}"]},
                                rest=HOUSEHOLD), encoding="utf-8")
    app = Application.from_file(path, FixedClock(NOON), web=False)
    with pytest.raises(BindError) as info:
        lt.run(app.start())
    assert app.bound == []  # start cleaned up after itself
    with pytest.raises(KidshieldError):
        app.db  # noqa: B018 - closed again
    return info.value


@pytest.mark.parametrize("proto", ["UDP", "TCP"])
def test_a_port_already_in_use_gives_a_bind_error_that_says_so_and_suggests_the_fix(
    loop_thread: LoopThread, upstream: FakeUpstream, tmp_path: Path, proto: str,
) -> None:
    kind = socket.SOCK_DGRAM if proto == "UDP" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if proto == "TCP":
            holder.listen()
        port = holder.getsockname()[1]
        error = _start_expecting_bind_error(loop_thread, tmp_path, upstream, port)
    message = str(error)
    assert f"{proto} 127.0.0.1:{port}" in message
    assert "already uses it" in message
    assert "[dns] listen" in message
    assert f"ss -lnp sport = :{port}" in message
    # the port is free again: nothing of the failed start keeps it
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))


def test_adult_default_is_used_by_plain_tcp_clients(serve: ServeFactory) -> None:
    served = serve()
    assert addresses(served.query("denied.example", source=ADULT, proto="tcp")) == ["192.0.2.1"]
    assert addresses(served.query("denied.example", source=KID, proto="tcp")) == ["127.0.0.1"]


def test_more_pipelined_queries_than_the_in_flight_limit_are_all_answered(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.delay = 0.05
    served = serve()
    count = dns_server.TCP_MAX_PIPELINE * 2 + 10
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        payload = b""
        for i in range(count):
            q = make_query(f"slow{i}.example")
            q.id = i
            wire = q.to_wire()
            payload += struct.pack("!H", len(wire)) + wire
        sock.sendall(payload)
        seen = set()
        for _ in range(count):
            size = struct.unpack("!H", recv_exactly(sock, 2))[0]
            msg = dns.message.from_wire(recv_exactly(sock, size))
            assert addresses(msg) == ["192.0.2.1"]
            seen.add(msg.id)
    assert seen == set(range(count))


def test_udp_answers_respect_the_clients_edns_buffer_size(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    many = [f"192.0.2.{i}" for i in range(1, 61)]  # about 1 kB of answer
    upstream.add("big.example", "A", *many)
    served = serve()
    big = served.query("big.example", edns=True)  # 1232 bytes allowed: fits, becomes ready
    assert len(addresses(big)) == 60
    for _ in range(2):
        q = dns.message.make_query("big.example", "A", use_edns=0, payload=700)
        small = dns.query.udp(q, "127.0.0.1", port=served.port, timeout=2)
        assert small.flags & dns.flags.TC, "an answer bigger than the client's buffer"
        assert small.edns == 0  # still with an OPT record: the query had one


def _peer_certificate(port: int, cert: Path) -> bytes:
    ctx = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw, \
            ctx.wrap_socket(raw, server_hostname="dns.test") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_a_renewed_dot_certificate_is_served_after_reload(
    serve: ServeFactory, tls_files: tuple[Path, Path], tmp_path: Path,
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(tls_files[0].read_bytes())
    key.write_bytes(tls_files[1].read_bytes())
    served = serve(dns_options={"dot_listen": ["127.0.0.1:0"], "tls_certificate": str(cert),
                                "tls_key": str(key)})
    port = served.bound("dot")
    before = _peer_certificate(port, cert)
    new_cert, new_key = tmp_path / "new-cert.pem", tmp_path / "new-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(new_key), "-out", str(new_cert), "-days", "2", "-subj",
         "/CN=renewed.dns.test", "-addext", "subjectAltName=DNS:dns.test,DNS:*.dns.test"],
        check=True, capture_output=True, timeout=30,
    )
    # a half-renewed pair (new certificate, old key) is refused: the old pair keeps working
    cert.write_bytes(new_cert.read_bytes())
    assert served.reload()
    assert _peer_certificate(port, tls_files[0]) == before
    key.write_bytes(new_key.read_bytes())
    assert served.reload()
    after = _peer_certificate(port, cert)
    assert after != before
    answer = dns.query.tls(make_query("denied.example"), "127.0.0.1", port=port, timeout=3,
                           ssl_context=_client_context(cert),
                           server_hostname="kid-tablet.dns.test")
    assert addresses(answer) == ["127.0.0.1"]


def test_a_tcp_client_that_never_reads_cannot_make_the_server_buffer_without_limit(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    listeners: list[dns_server.TcpListener] = []
    original = dns_server.TcpListener.connection_made

    def remember(self: dns_server.TcpListener, transport: asyncio.BaseTransport) -> None:
        listeners.append(self)
        original(self, transport)

    monkeypatch.setattr(dns_server.TcpListener, "connection_made", remember)
    served = serve()
    served.query("fine.example", source=KID, proto="tcp")  # a ready answer: the fast path
    wire = make_query("fine.example").to_wire()
    payload = (struct.pack("!H", len(wire)) + wire) * 200_000  # about 6 MB of queries
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before the handshake
        sock.bind((KID, 0))
        sock.connect(("127.0.0.1", served.port))
        sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 2.0
        while sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += sock.send(payload[sent : sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)
        listener = listeners[-1]

        def buffered() -> int:
            assert listener.transport is not None
            return listener.transport.get_write_buffer_size()

        most = 0
        for _ in range(30):  # while the server works through what it has read
            most = max(most, served.lt.call(buffered))
            time.sleep(0.03)
        assert most < 1_000_000, f"{most} bytes of answers waiting in the server"
    # and the server still answers everyone else
    assert addresses(served.query("fine.example", source=KID, proto="tcp")) == ["192.0.2.1"]


def test_port_0_tries_again_when_the_udp_port_is_taken_for_tcp(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kidshield.dns import service as dns_service

    real = dns_service.start_tcp
    refused: list[int] = []

    async def busy_once(resolver: Any, host: str, port: int, tls: Any = None) -> Any:
        if not refused:
            refused.append(port)
            raise BindError(f"cannot listen on TCP {host}:{port}: already in use")
        return await real(resolver, host, port, tls)

    monkeypatch.setattr(dns_service, "start_tcp", busy_once)
    served = serve()
    assert len(refused) == 1
    assert served.bound("tcp") == served.port
    assert addresses(served.query("fine.example", proto="tcp")) == ["192.0.2.1"]


def test_one_device_cannot_hold_more_than_its_share_of_tcp_connections(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kidshield.dns import server as dns_server

    monkeypatch.setattr(dns_server, "TCP_MAX_PER_CLIENT", 2)
    served = serve()

    def ask(sock: socket.socket) -> bytes:
        wire = dns.message.make_query("fine.example", "A").to_wire()
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        sock.settimeout(3)
        return sock.recv(4096)

    first = socket.create_connection(("127.0.0.1", served.port))
    second = socket.create_connection(("127.0.0.1", served.port))
    assert ask(first) and ask(second)
    third = socket.create_connection(("127.0.0.1", served.port))
    with contextlib.suppress(ConnectionResetError):  # closed at once: reset or EOF
        assert ask(third) == b""  # this address already has its two connections
    third.close()
    first.close()
    time.sleep(0.3)
    fourth = socket.create_connection(("127.0.0.1", served.port))
    assert ask(fourth)
    for sock in (second, fourth):
        sock.close()


def test_dns_over_https_speaks_http2_on_its_own_listener(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    """Issue 14 item 9: h2-only clients (kdig +https, several OS stubs) get answers."""
    cert, key = tls_files
    served = serve(web=True, dns_options={"doh_listen": ["127.0.0.1:0"],
                                          "tls_certificate": str(cert), "tls_key": str(key)})
    port = served.bound("doh")
    ca = ssl.create_default_context(cafile=str(cert))
    wire = make_query("denied.example").to_wire()
    headers = {"content-type": "application/dns-message"}
    with httpx.Client(timeout=5, transport=httpx.HTTPTransport(
            http1=False, http2=True, verify=ca, local_address=KID)) as h2:  # h2 only
        answer = h2.post(f"https://127.0.0.1:{port}/dns-query", content=wire, headers=headers)
        assert answer.http_version == "HTTP/2"
        assert addresses(dns.message.from_wire(answer.content)) == ["127.0.0.1"]  # the kid's
        encoded = base64.urlsafe_b64encode(wire).rstrip(b"=").decode()
        got = h2.get(f"https://127.0.0.1:{port}/dns-query", params={"dns": encoded})
        assert got.http_version == "HTTP/2" and got.status_code == 200
        # the dashboard is not on this listener
        assert h2.get(f"https://127.0.0.1:{port}/login").status_code == 404
    with httpx.Client(verify=ca, timeout=5) as h1:
        answer = h1.post(f"https://127.0.0.1:{port}/dns-query/kid-tablet", content=wire,
                         headers=headers)
        assert answer.http_version == "HTTP/1.1"
        assert addresses(dns.message.from_wire(answer.content)) == ["127.0.0.1"]
    # dnspython's own DoH client (HTTP/2 when it can) gets the same answers
    assert addresses(dns.query.https(make_query("fine.example"),
                                     f"https://127.0.0.1:{port}/dns-query", timeout=5,
                                     verify=str(cert))) == ["192.0.2.1"]
