"""A real Unbound (Debian's package, see scripts/apt-packages) on a loopback port, forwarding to
a fake authoritative server on loopback that gives every name 192.0.2.1 / 2001:db8::1."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.processes import end

UPSTREAM_A = "192.0.2.1"
UPSTREAM_AAAA = "2001:db8::1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeAuthority:
    """Answers every A and AAAA query (TTL 60); NODATA for other types. UDP, loopback."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        a = socket.inet_pton(socket.AF_INET, UPSTREAM_A)
        aaaa = socket.inet_pton(socket.AF_INET6, UPSTREAM_AAAA)
        while not self.stopped.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                end = data.index(0, 12) + 5
                qtype = struct.unpack_from("!H", data, end - 4)[0]
            except (ValueError, struct.error):
                continue
            head = data[:2] + bytes([0x84 | (data[2] & 1), 0x00]) + b"\x00\x01"
            question = data[12:end]
            rdata = {1: a, 28: aaaa}.get(qtype)
            if rdata is None:
                self.sock.sendto(head + b"\x00\x00\x00\x00\x00\x00" + question, addr)
                continue
            rr = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(rdata)) + rdata
            self.sock.sendto(head + b"\x00\x01\x00\x00\x00\x00" + question + rr, addr)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def authority() -> Iterator[FakeAuthority]:
    fake = FakeAuthority()
    yield fake
    fake.close()


@dataclass
class Unbound:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def ask(self, name: str, source: str, qtype: str = "A") -> dns.message.Message:
        query = dns.message.make_query(name, qtype)
        for _ in range(3):
            try:
                return dns.query.udp(query, "127.0.0.1", port=self.port, source=source,
                                     timeout=3)
            except dns.exception.Timeout:
                continue
        raise AssertionError(f"Unbound did not answer {name} {qtype} from {source}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def unbound_config(folder: Path, port: int, include: Path, upstream_port: int,
                   extra: str = "") -> Path:
    conf = folder / "unbound-test.conf"
    conf.write_text(f"""server:
    interface: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    directory: "{folder}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    do-daemonize: no
    num-threads: 1
    do-not-query-localhost: no
    local-zone: "probe.kidshield.test." static
    local-data: "probe.kidshield.test. A 127.0.0.9"
{extra}
include: "{include}"
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream_port}
remote-control:
    control-enable: no
""")
    return conf


class PortTaken(AssertionError):
    """The free port was taken by another process between choosing it and binding it."""


def unbound_on_a_free_port(folder: Path, include: Path, upstream_port: int,
                           extra: str = "", env: dict[str, str] | None = None) -> Unbound:
    """Unbound on a port nobody else uses; another port when a parallel test took the one
    chosen (the suite runs beside other engineers' servers). ``env``: its environment."""
    for _attempt in range(4):
        port = free_port()
        try:
            return start_unbound(unbound_config(folder, port, include, upstream_port, extra),
                                 port, env=env)
        except PortTaken:
            continue
    raise AssertionError("no free port for unbound after 4 tries")


def wait_until_answering(
    name: str, proc: subprocess.Popen[bytes], log: Path, port: int, timeout: float,
    answered: Callable[[dns.message.Message], bool] = lambda answer: True,
) -> None:
    """Wait until the daemon ``proc`` answers a probe on 127.0.0.1:``port`` (and ``answered``
    accepts the answer). A daemon that exits because the port was taken raises ``PortTaken``
    (another process took it between ``free_port`` and the bind: the caller tries another);
    any other exit, or no answer in ``timeout`` s, fails with the end of its log."""
    probe = dns.message.make_query("probe.kidshield.test", "A")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text()[-3000:]
            if "Address already in use" in text:
                raise PortTaken(text)
            raise AssertionError(f"{name} exited: {text}")
        try:
            if answered(dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.2)):
                return
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise AssertionError(f"{name} did not answer in {timeout} s: {log.read_text()[-3000:]}")


def start_unbound(conf: Path, port: int, timeout: float = 60.0,
                  env: dict[str, str] | None = None) -> Unbound:
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    if not Path(binary).exists():
        pytest.fail("unbound is not installed: scripts/test installs it from "
                    "scripts/apt-packages")
    log = conf.with_suffix(".log")
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env=env)
    wait_until_answering("unbound", proc, log, port, timeout)
    return Unbound(port, proc, log)


def stop(unbound: Unbound) -> None:
    end(unbound.proc)


def outcome(answer: dns.message.Message, block_v4: str) -> tuple[str, str | None]:
    """An answer reduced to what the policy decided: block, nxdomain, rewrite (with the
    CNAME target) or allow."""
    if answer.rcode() == dns.rcode.NXDOMAIN:
        return ("nxdomain", None)
    cnames = [rr for rr in answer.answer if rr.rdtype == dns.rdatatype.CNAME]
    if cnames:
        return ("rewrite", str(cnames[0][0].target).rstrip("."))
    addresses = {str(r) for rr in answer.answer for r in rr}
    if block_v4 in addresses:
        return ("block", None)
    if UPSTREAM_A in addresses:
        return ("allow", None)
    return ("other", ",".join(sorted(addresses)) or dns.rcode.to_text(answer.rcode()))


@dataclass
class Recursor:
    """PowerDNS Recursor (Debian's pdns-recursor) with the export's Lua files."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    sockets: Path

    def ask(self, name: str, source: str, qtype: str = "A") -> dns.message.Message:
        query = dns.message.make_query(name, qtype)
        return dns.query.udp(query, "127.0.0.1", port=self.port, source=source, timeout=5)

    def stop(self) -> None:
        end(self.proc)
        shutil.rmtree(self.sockets, ignore_errors=True)


def start_recursor(folder: Path, export: Path, upstream_port: int,
                   timeout: float = 60.0) -> Recursor:
    binary = shutil.which("pdns_recursor") or "/usr/sbin/pdns_recursor"
    if not Path(binary).exists():
        pytest.fail("pdns_recursor is not installed: scripts/test installs it from "
                    "scripts/apt-packages")
    port = free_port()
    # its control socket's path must fit a Unix socket address (108 bytes): a short folder
    sockets = Path(tempfile.mkdtemp(prefix="ks-pdns-"))
    (folder / "recursor.conf").write_text(f"""local-address=127.0.0.1
local-port={port}
lua-config-file={export / "powerdns-recursor.lua"}
lua-dns-script={export / "powerdns-recursor-script.lua"}
forward-zones-recurse=.=127.0.0.1:{upstream_port}
allow-from=127.0.0.0/8
socket-dir={sockets}
daemon=no
dnssec=off
security-poll-suffix=
threads=1
""")
    log = folder / "recursor.log"
    proc = subprocess.Popen([binary, f"--config-dir={folder}"], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    probe = dns.message.make_query("use-application-dns.net", "A")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"pdns_recursor exited: {log.read_text()[-3000:]}")
        try:
            answer = dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.3)
            if answer.rcode() == dns.rcode.NXDOMAIN:  # the export's zones are loaded
                return Recursor(port, proc, log, sockets)
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.1)
    proc.kill()
    shutil.rmtree(sockets, ignore_errors=True)
    raise AssertionError(f"pdns_recursor did not start: {log.read_text()[-3000:]}")


def start_named(folder: Path, export: Path, upstream_port: int,
                timeout: float = 60.0) -> Recursor:
    """BIND 9 (Debian's bind9) with the export's named.conf included."""
    binary = shutil.which("named") or "/usr/sbin/named"
    if not Path(binary).exists():
        pytest.fail("named is not installed: scripts/test installs bind9 from "
                    "scripts/apt-packages")
    port = free_port()
    conf = folder / "named-test.conf"
    conf.write_text(f"""options {{
    directory "{folder}";
    managed-keys-directory "{folder}";
    session-keyfile "{folder}/session.key";
    pid-file none;
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    forwarders {{ 127.0.0.1 port {upstream_port}; }};
    forward only;
    dnssec-validation no;
    allow-query {{ any; }};
    allow-recursion {{ any; }};
}};
include "{export / 'named.conf'}";
""")
    log = folder / "named.log"
    proc = subprocess.Popen([binary, "-g", "-c", str(conf)], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    probe = dns.message.make_query("use-application-dns.net", "A")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"named exited: {log.read_text()[-3000:]}")
        try:
            answer = dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.3)
            if answer.rcode() == dns.rcode.NXDOMAIN:
                return Recursor(port, proc, log, folder / "no-sockets")
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"named did not start: {log.read_text()[-3000:]}")
