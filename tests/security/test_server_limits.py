"""Issue 15, items 3 and 5 and "also": links from the configured public URL, body limits
while reading (chunked too), header and body deadlines, connection caps, HSTS over TLS,
no-store on sensitive pages, metrics behind sign-in or on a listener of their own."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served, csrf_of
from tests.e2e.household import config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def serve_with(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
               web: str = "", extra: str = "") -> Served:
    write_lists(tmp_path)
    text = config_text(upstream.port).replace("[web]\n", f"[web]\n{web}") + extra
    return serve_config(text)


def chunks(total: int, size: int = 16384) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"\0" * size
        sent += size


# -- bodies ---------------------------------------------------------------------------------
def test_a_chunked_body_past_the_limit_is_refused_while_it_arrives(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        r = c.post("/dns-query", content=chunks(20 << 20),  # 20 MiB, no Content-Length
                   headers={"content-type": "application/dns-message"})
        assert r.status_code == 413
        r = c.post("/api/v1/login", content=chunks(1 << 20),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
        page = c.get("/report")
        form = f"csrf={csrf_of(page.text)}&description=".encode() + b"x" * (200 * 1024)
        r = c.post("/report", content=iter([form]),
                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413


def raw(served: Served, source: str = "127.0.0.1") -> socket.socket:
    host, port = served.url.split("//")[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
    return sock


def read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(4096):
        out += chunk
    return out


def test_slow_headers_and_a_stalled_body_are_cut_off(serve_config: ServeConfig,
                                                     upstream: FakeUpstream,
                                                     tmp_path: Path) -> None:
    served = serve_with(serve_config, upstream, tmp_path,
                        "header_timeout = 1\nbody_timeout = 1\nidle_timeout = 1\n")
    with raw(served) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        start = time.monotonic()
        answer = read_all(slow)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - start < 5
    with raw(served) as silent:  # connects and says nothing at all
        start = time.monotonic()
        assert read_all(silent).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - start < 5
    with raw(served) as stalled:
        stalled.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = read_all(stalled)
        assert b" 408 " in answer.split(b"\r\n", 1)[0]
    with raw(served) as idle:  # kept alive after an answer, then idle
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        start = time.monotonic()
        assert b"200 OK" in read_all(idle)
        assert time.monotonic() - start < 5


def test_connections_are_capped_per_device(serve_config: ServeConfig, upstream: FakeUpstream,
                                           tmp_path: Path) -> None:
    served = serve_with(serve_config, upstream, tmp_path,
                        "max_connections_per_client = 3\nheader_timeout = 30\n")
    held = [raw(served, "127.0.0.7") for _ in range(3)]
    try:
        time.sleep(0.2)
        with raw(served, "127.0.0.7") as fourth:
            assert read_all(fourth).startswith(b"HTTP/1.1 503")
        with httpx.Client(base_url=served.url) as other:  # another device is served
            assert other.get("/healthz").status_code == 200
    finally:
        for sock in held:
            sock.close()


# -- headers --------------------------------------------------------------------------------
def test_hsts_over_https_only(serve_config: ServeConfig, upstream: FakeUpstream,
                              tls_files: tuple[Path, Path], tmp_path: Path,
                              served: Served) -> None:
    with httpx.Client(base_url=served.url) as plain:
        assert "strict-transport-security" not in plain.get("/login").headers
    cert, key = tls_files
    write_lists(tmp_path)
    text = config_text(upstream.port).replace(
        "[dns]\n", f'[dns]\ntls_certificate = "{cert}"\ntls_key = "{key}"\n')
    secure = serve_config(text, name="tls.toml")
    with httpx.Client(base_url=secure.url, verify=str(cert)) as c:
        assert c.get("/login").headers["strict-transport-security"].startswith("max-age=")


def test_evidence_cases_and_report_status_are_never_cached(served: Served) -> None:
    with served.client() as reporter:
        code = reporter.post("/api/v1/reports", json={
            "url": "https://chat.test/u/1", "case_type": "bullying",
            "description": "names and insults"}).json()["code"]
        assert reporter.get(f"/report/status/{code}").headers["cache-control"] == "no-store"
        assert reporter.get(f"/api/v1/reports/{code}").headers["cache-control"] == "no-store"
    moderator, headers = served.account("a moderator", "moderator")
    [case] = moderator.get("/api/v1/cases").json()["cases"]
    assert moderator.get(f"/cases/{case['id']}").headers["cache-control"] == "no-store"
    revealed = moderator.post(f"/api/v1/cases/{case['id']}/reveal", headers=headers)
    assert revealed.headers["cache-control"] == "no-store"
    assert "names and insults" in revealed.text
    assert "no-store" not in moderator.get("/static/kidshield.css").headers["cache-control"]


# -- links ----------------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            got.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


def _ask(served: Served, host: str) -> None:
    with served.client() as child:
        page = child.get("/", headers={"host": "casino.example"})
        r = child.post("/.well-known/kidshield/ask", headers={"host": host},
                       data={"csrf": csrf_of(page.text), "name": "casino.example"})
        assert r.status_code == 200


def _wait(got: list[Any], n: int) -> None:
    for _ in range(100):
        if len(got) >= n:
            return
        time.sleep(0.05)


def test_notification_links_go_to_the_dashboard_whatever_the_host_said(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
        receiver: tuple[str, list[dict[str, Any]]]) -> None:
    served = serve_with(serve_config, upstream, tmp_path,
                        'public_url = "https://kidshield.lan:8443/"\n')
    url, got = receiver
    parent, headers = served.parent()
    parent.put("/api/v1/settings/notifications", json={"kind": "webhook", "url": url},
               headers=headers)
    _ask(served, "casino.example")  # the block page: the Host is the blocked site
    _ask(served, "evil.example")  # or whatever the asker likes
    _wait(got, 2)
    assert [n["link"] for n in got] == ["https://kidshield.lan:8443/requests"] * 2


def test_without_a_public_url_links_use_the_address_the_server_listens_on(
        served: Served, receiver: tuple[str, list[dict[str, Any]]]) -> None:
    url, got = receiver
    parent, headers = served.parent()
    parent.put("/api/v1/settings/notifications", json={"kind": "webhook", "url": url},
               headers=headers)
    _ask(served, "casino.example")
    _wait(got, 1)
    assert got[0]["link"] == f"{served.url}/requests"


# -- metrics --------------------------------------------------------------------------------
def test_metrics_need_a_token_with_the_metrics_scope(served: Served) -> None:
    served.parent()
    with httpx.Client(base_url=served.url) as anyone:
        assert anyone.get("/metrics", headers={"accept": "application/json"}).status_code == 401
        # a child's device, reaching the server by its address as the block page does
        r = anyone.get("/metrics", headers={"host": "casino.example"})
        assert r.status_code == 403 and "# HELP" not in r.text  # the block page
        reader = served.bearer_for("Alex", ["metrics"])
        r = anyone.get("/metrics", headers=reader)
        assert r.status_code == 200 and "kidshield" in r.text
        other = served.bearer_for("Alex", ["dns"])
        assert anyone.get("/metrics", headers=other).status_code == 403


def test_metrics_on_a_listener_of_their_own(serve_config: ServeConfig, upstream: FakeUpstream,
                                            tmp_path: Path) -> None:
    served = serve_with(serve_config, upstream, tmp_path,
                        extra='\n[metrics]\nlisten = "127.0.0.1:0"\nweb = false\n')
    port = served.bound("metrics")
    served.parent()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as prometheus:
        assert prometheus.get("/metrics").status_code == 401
        assert prometheus.get("/metrics",
                              headers=served.bearer_for("Alex", ["metrics"])).status_code == 200
        assert prometheus.get("/api/v1/profiles").status_code == 404  # nothing else there
    with httpx.Client(base_url=served.url) as web:
        r = web.get("/metrics", headers=served.bearer_for("Alex", ["metrics"]))
        assert r.status_code == 404  # not on the web server any more
