"""``kidshield serve --workers 2``: one instance answering from two processes, with one policy
(a reload reaches both), one query log (every answer written once, by the instance) and one
metrics view (the answers of both processes counted together) (issue 17 item 3)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
KID = "127.0.0.2"

CONFIG = """
[server]
storage = "kidshield.db"
data_dir = "data"
timezone = "UTC"

[dns]
listen = ["127.0.0.1:0"]
upstreams = ["udp://127.0.0.1:9"]
rate_limit_qps = 0

[logging]
anonymize_clients = false

[metrics]
listen = "127.0.0.1:0"
auth = false

[[clients]]
name = "kid"
profile = "kid"
addresses = ["127.0.0.2"]

[profiles.kid]
age_band = "9-12"
bedtime = "off"  # the real clock: what is checked must not depend on the hour
deny = ["denied.example"]
"""


class Served:
    def __init__(self, proc: subprocess.Popen[str], ports: dict[str, int]) -> None:
        self.proc = proc
        self.ports = ports

    def ask(self, name: str) -> list[str]:
        answer = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1",
                               port=self.ports["udp"], source=KID, timeout=3)
        return [str(r) for rrset in answer.answer for r in rrset]

    def metric(self, pattern: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=10).text
        match = re.search(pattern, text, re.M)
        assert match, text
        return float(match.group(1))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path, CONFIG)


def _serve(tmp_path: Path, text: str) -> Iterator[Served]:
    config = tmp_path / "kidshield.toml"
    config.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kidshield", "serve", "-c", str(config), "--no-web",
         "--workers", "2"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    ports: dict[str, int] = {}
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if match := re.search(r"listening: (\w+) 127\.0\.0\.1:(\d+)", line):
                ports[match.group(1)] = int(match.group(2))
            if "workers: 2 DNS processes" in line:
                break
        assert "udp" in ports and "metrics" in ports, "".join(seen)
        yield Served(proc, ports)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def children(pid: int) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                             .decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.slow
def test_two_workers_share_one_policy_one_log_and_one_metrics_view(
    served: Served, tmp_path: Path,
) -> None:
    workers = [c for c in children(served.proc.pid) if "kidshield.dns.worker" in c]
    assert len(workers) == 1  # the instance answers too: two DNS processes

    for _ in range(200):  # each query from a new source port: the kernel spreads them
        assert served.ask("denied.example") == ["127.0.0.1"]
    counted = served.metric(r'^kidshield_dns_queries_total\{action="block",profile="kid",'
                            r'reason="deny_list"\} ([\d.]+)$')
    assert counted == 200  # both processes' answers, counted once each
    # each process keeps its own ready answer for the name: both have answered
    assert served.metric(r"^kidshield_dns_ready_answers ([\d.]+)$") == 2

    config = tmp_path / "kidshield.toml"
    config.write_text(config.read_text().replace('deny = ["denied.example"]',
                                                 'deny = ["denied.example", "later.example"]'))
    served.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while served.ask("later.example") != ["127.0.0.1"]:
        assert time.monotonic() < deadline, "the reload did not arrive"
        time.sleep(0.2)
    time.sleep(2)  # the worker reloads just after the instance
    for _ in range(100):  # whichever process answers, the new policy holds
        assert served.ask("later.example") == ["127.0.0.1"]

    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0
    db = sqlite3.connect(tmp_path / "kidshield.db")
    try:
        rows = dict(db.execute(
            "SELECT name, SUM(count) FROM query_log GROUP BY name").fetchall())
    finally:
        db.close()
    assert rows["denied.example"] == 200
    assert rows["later.example"] >= 100  # (and the tries while the reload arrived)


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced_and_the_instance_answers_meanwhile(
    served: Served,
) -> None:
    def workers() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError):
                continue
            if fields[1] == str(served.proc.pid) and b"kidshield.dns.worker" in cmdline:
                found.append(int(stat.parent.name))
        return found

    (first,) = workers()
    os.kill(first, signal.SIGKILL)
    for _ in range(50):  # the instance answers on its own meanwhile (a client retries a
        # question that was waiting in the dead worker's socket, as stub resolvers do)
        for attempt in range(3):
            try:
                assert served.ask("denied.example") == ["127.0.0.1"]
                break
            except dns.exception.Timeout:
                assert attempt < 2, "the instance stopped answering"
    deadline = time.monotonic() + 60
    while True:
        now = workers()
        if now and now != [first]:
            break
        assert time.monotonic() < deadline, "no new worker"
        time.sleep(0.2)
    time.sleep(3)  # the new worker is answering
    for _ in range(100):
        assert served.ask("denied.example") == ["127.0.0.1"]
    assert served.proc.poll() is None


BALANCER = "127.0.0.5"


@pytest.fixture
def served_behind_balancer(tmp_path: Path) -> Iterator[Served]:
    text = CONFIG.replace("rate_limit_qps = 0",
                          f'rate_limit_qps = 0\nproxy_protocol_from = ["{BALANCER}/32"]')
    yield from _serve(tmp_path, text)


@pytest.mark.slow
def test_every_worker_reads_the_balancer_s_proxy_header(served_behind_balancer: Served) -> None:
    served = served_behind_balancer
    body = socket.inet_aton(KID) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 4000, 53)
    header = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x12" + struct.pack("!H", len(body)) + body)
    query = dns.message.make_query("denied.example", "A").to_wire()
    for _ in range(100):  # each from a new source port: the kernel spreads them
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((BALANCER, 0))
            sock.settimeout(3)
            sock.sendto(header + query, ("127.0.0.1", served.ports["udp"]))
            answer = dns.message.from_wire(sock.recv(4096))
        assert [str(r) for rrset in answer.answer for r in rrset] == ["127.0.0.1"]  # the kid's
    read = served.metric(r'^kidshield_dns_proxy_headers_total\{result="accepted"\} ([\d.]+)$')
    assert read == 100  # by both processes, counted together
