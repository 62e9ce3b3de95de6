"""A real dnsdist (Debian's package, see scripts/apt-packages) in front of kidshield with
``useProxyProtocol=true``, as districts and ISPs run it: each device behind dnsdist gets its own
profile, over UDP and TCP, and the query log names the device, not dnsdist (issue 17 item 2).

Devices are loopback source addresses (127.0.0.2 is a 9-12 year old, 127.0.0.3 a teenager);
dnsdist reaches kidshield from 127.0.0.9, an address no profile is given: if the PROXY header
were not read, both devices would get the grown-up answer."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from kidshield.clock import FixedClock
from kidshield.storage.schema import query_log
from tests.e2e.harness import Served, start
from tests.fleet.conftest import (
    UPSTREAM_A,
    FakeAuthority,
    PortTaken,
    free_port,
    wait_until_answering,
)
from tests.processes import end

KID, TEEN = "127.0.0.2", "127.0.0.3"
DNSDIST_SOURCE = "127.0.0.9"  # where dnsdist's queries to kidshield come from
BLOCK_V4 = "10.0.0.2"
NOON = datetime.fromisoformat("2026-12-02T12:00:00+00:00")


def kidshield_config(folder: Path, upstream_port: int) -> Path:
    path = folder / "kidshield.toml"
    path.write_text(f"""
[server]
timezone = "UTC"
storage = "k.db"
data_dir = "data"

[dns]
listen = ["127.0.0.1:0"]
upstreams = ["udp://127.0.0.1:{upstream_port}"]
block_page_ipv4 = "{BLOCK_V4}"
rate_limit_qps = 0
proxy_protocol_from = ["{DNSDIST_SOURCE}/32"]

[logging]
anonymize_clients = false

[[clients]]
name = "kid tablet"
profile = "kid"
addresses = ["{KID}/32"]

[[clients]]
name = "teen laptop"
profile = "teen"
addresses = ["{TEEN}/32"]

[profiles.kid]
age_band = "9-12"
deny = ["denied.example"]

[profiles.teen]
age_band = "13-15"
""", encoding="utf-8")
    return path


@dataclass
class Dnsdist:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def ask(self, name: str, source: str, tcp: bool = False) -> dns.message.Message:
        query = dns.message.make_query(name, "A")
        if tcp:
            return dns.query.tcp(query, "127.0.0.1", port=self.port, source=source, timeout=5)
        return dns.query.udp(query, "127.0.0.1", port=self.port, source=source, timeout=5)

    def stop(self) -> None:
        end(self.proc)


def dnsdist_binary() -> str:
    binary = shutil.which("dnsdist") or "/usr/bin/dnsdist"
    if not Path(binary).exists():
        reason = "dnsdist is not installed: scripts/test installs it from scripts/apt-packages"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def start_dnsdist(folder: Path, backend_port: int, timeout: float = 30.0) -> Dnsdist:
    binary = dnsdist_binary()
    port = free_port()
    conf = folder / f"dnsdist-{port}.conf"
    conf.write_text(f"""
setLocal("127.0.0.1:{port}")
setACL({{"127.0.0.0/8"}})
setSecurityPollSuffix("")
newServer({{address="127.0.0.1:{backend_port}", source="{DNSDIST_SOURCE}",
           useProxyProtocol=true, checkInterval=1}})
-- a TLV of the operator's own after the addresses: kidshield skips it
addAction(AllRule(), SetProxyProtocolValuesAction({{[238]="school-north"}}))
""", encoding="utf-8")
    log = conf.with_suffix(".log")
    proc = subprocess.Popen([binary, "--supervised", "--disable-syslog", "-C", str(conf)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    # a NOERROR answer with records: dnsdist is up and its backend (kidshield) answers
    wait_until_answering("dnsdist", proc, log, port, timeout,
                         lambda answer: answer.rcode() == dns.rcode.NOERROR and bool(answer.answer))
    return Dnsdist(port, proc, log)


@pytest.fixture
def kidshield_behind_dnsdist(tmp_path: Path) -> Iterator[tuple[Served, Dnsdist]]:
    authority = FakeAuthority()
    try:
        with start(kidshield_config(tmp_path, authority.port), FixedClock(NOON),
                   web=False) as served:
            for attempt in range(4):
                try:
                    dnsdist = start_dnsdist(tmp_path, served.dns_port)
                    break
                except PortTaken:
                    if attempt == 3:
                        raise
            try:
                yield served, dnsdist
            finally:
                dnsdist.stop()
    finally:
        authority.close()


def addresses(answer: dns.message.Message) -> list[str]:
    return sorted(str(r) for rrset in answer.answer for r in rrset)


def proxy_headers(served: Served, result: str) -> float:
    text = generate_latest(served.app.dns.metrics.registry).decode()
    line = f'kidshield_dns_proxy_headers_total{{result="{result}"}} '
    return next(float(row[len(line):]) for row in text.splitlines() if row.startswith(line))


@pytest.mark.slow
def test_each_device_behind_dnsdist_gets_its_own_profile_over_udp_and_tcp(
    kidshield_behind_dnsdist: tuple[Served, Dnsdist],
) -> None:
    served, dnsdist = kidshield_behind_dnsdist
    for tcp in (False, True):
        for _ in range(2):  # and again, from kidshield's ready answers
            assert addresses(dnsdist.ask("denied.example", KID, tcp)) == [BLOCK_V4]
            assert addresses(dnsdist.ask("denied.example", TEEN, tcp)) == [UPSTREAM_A]
        # the kid's age band blocks adult sites; the teen's does too; dnsdist itself is no one
        assert addresses(dnsdist.ask("fine.example", KID, tcp)) == [UPSTREAM_A]
    # every datagram and connection came with a header kidshield read (dnsdist's health
    # checks too: a LOCAL header), and none was refused
    assert proxy_headers(served, "accepted") >= 10
    for reason in ("missing", "truncated", "version", "command", "family", "length"):
        assert proxy_headers(served, reason) == 0, reason
    served.pump()
    assert served.app.db is not None
    with served.app.db.engine.connect() as conn:
        rows = conn.execute(sa.select(query_log.c.client, query_log.c.profile,
                                      query_log.c.name)).all()
    by_device = {(client, profile) for client, profile, name in rows
                 if name == "denied.example"}
    assert by_device == {(KID, "kid"), (TEEN, "teen")}
    assert DNSDIST_SOURCE not in {client for client, _p, name in rows
                                  if name != "a.root-servers.net"}
