"""kidshield's policy decided inside Unbound by its Python module (issue 17 item 1).

    python bench/unbound_pymod.py [--domains 1000000] [--seconds 10]

The same policy as bench/fleet.py (N generated names in category "adult", blocked for three
child profiles; the built-in lists; a parent's device that is not filtered), exported by
``kidshield export unbound`` in a fresh process (timed: target <= 5 s for a million names).
Unbound 1.17 (Debian's package, one thread, loopback, forwarding to a fake upstream on
loopback) includes the export's unbound.conf. Measured, against Unbound without the module in
the same run: time until it answers (target <= 10 s), RSS (target <= 300 MB), and Unbound's
CPU per query under dnsperf for cached names, cache misses and blocked names (from a child's
address). Before the figures, the answers are checked: blocked for each child, not for the
parent, and not leaked from the cache after the parent asked first.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import re
import resource
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from fleet import CONFIG, make_list  # noqa: E402
from processes import stop  # noqa: E402
from unbound_conf import forwarder_conf  # noqa: E402

from kidshield.fleet.unbound_export import CONFIG_FILE, DEBIAN_DIST, POLICY_FILE  # noqa: E402
from kidshield.fleet.unbound_module import PolicyFile  # noqa: E402

PARENT = """
[[clients]]
name = "dad"
profile = "dad"
addresses = ["127.0.0.5/32"]

[profiles.dad]
age_band = "adult"
"""
CHILDREN = {"ava": "127.0.0.2", "mia": "127.0.0.3", "leo": "127.0.0.4"}
PARENT_ADDRESS = "127.0.0.5"
AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday noon: no bedtime


# -- Unbound and the network (loopback only) ------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(port: int, name: str, source: str = "127.0.0.1", qtype: int = 1,
          timeout: float = 2.0) -> tuple[int, list[str]]:
    """(rcode, A addresses) of one query to 127.0.0.1:port sent from ``source``."""
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    qid = secrets.randbelow(65536)
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        data = s.recv(4096)
    rcode = data[3] & 0x0F
    ancount = struct.unpack_from("!H", data, 6)[0]
    pos = 12 + len(wire) + 4
    addresses = []
    for _ in range(ancount):
        while data[pos] and data[pos] < 0xC0:
            pos += data[pos] + 1
        pos += 2 if data[pos] >= 0xC0 else 1
        rtype, _cls, _ttl, length = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        if rtype == 1:
            addresses.append(".".join(str(b) for b in data[pos:pos + 4]))
        pos += length
    return rcode, addresses


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss / 1024, peak / 1024


class Unbound:
    def __init__(self, tmp: Path, label: str, upstream: int, include: Path | None,
                 env: dict[str, str]) -> None:
        self.port = free_port()
        # the export's include sets module-config and names the module
        modules = (f'include: "{include}"' if include  # the same modules, without python
                   else 'module-config: "validator iterator"')
        conf = tmp / f"unbound-{label}.conf"
        conf.write_text(forwarder_conf(tmp, self.port, upstream, f"    {modules}\n"))
        check = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True,
                               env=env)
        if check.returncode:
            raise SystemExit(f"unbound-checkconf {conf}: {check.stdout}{check.stderr}")
        self.log = tmp / f"unbound-{label}.log"
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [shutil.which("unbound") or "/usr/sbin/unbound", "-d", "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=env)
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"unbound ({label}) exited: {self.log.read_text()[-3000:]}")
            try:
                query(self.port, "probe.example", timeout=0.05)
                break
            except OSError:
                if time.perf_counter() - started > 300:
                    self.stop()
                    raise SystemExit(f"unbound ({label}) did not answer in 300 s") from None
        self.load_s = time.perf_counter() - started
        self.rss_mb, self.peak_mb = memory_mb(self.proc.pid)

    def stop(self) -> None:
        stop(self.proc)


def dnsperf(port: int, pid: int, qfile: Path, source: str, seconds: float,
            once: bool = False) -> tuple[float, int]:
    """Unbound's CPU µs per completed query, and the count, for one bounded dnsperf run
    (``seconds`` long, or one pass over the file when ``once``)."""
    before = cpu_seconds(pid)
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-a", source,
                          "-d", str(qfile), "-c", "4", "-t", "2", "-l", str(seconds),
                          *(["-n", "1"] if once else [])],
                         capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    return (cpu / done * 1e6 if done else float("nan")), done


# -- the run ----------------------------------------------------------------------------------

def check_answers(ub: Unbound, listed: list[str], block4: str) -> list[str]:
    """Disagreements with kidshield's policy (empty when Unbound answers as kidshield)."""
    wrong = []
    first, second, third = listed[0], listed[1], listed[2]
    # the parent first: Unbound resolves and would cache the real answer
    for name, source, blocked in (
            (first, PARENT_ADDRESS, False), *((first, a, True) for a in CHILDREN.values()),
            (f"www.{second}", CHILDREN["mia"], True), (second, PARENT_ADDRESS, False),
            (third, CHILDREN["leo"], True), (third, PARENT_ADDRESS, False),
            ("unlisted-name.example", CHILDREN["ava"], False)):
        rcode, addresses = query(ub.port, name, source)
        got_blocked = addresses == [block4]
        if rcode or got_blocked != blocked or not addresses:
            wrong.append(f"{name} from {source}: rcode {rcode}, {addresses}; "
                         f"expected {'blocked' if blocked else 'resolved'}")
    # a small zone: Firefox's canary is NXDOMAIN for every device (kidshield's special zone)
    for source in (CHILDREN["ava"], PARENT_ADDRESS):
        rcode, addresses = query(ub.port, "use-application-dns.net", source)
        if rcode != 3:
            wrong.append(f"use-application-dns.net from {source}: rcode {rcode}, {addresses}; "
                         "expected NXDOMAIN")
    return wrong


class SlowUpstream:
    """A loopback upstream that answers every A query with 192.0.2.1 after ``delay`` s, so
    that queries from two clients meet in one Unbound resolution."""

    def __init__(self, delay: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.delay = delay
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                return  # closed
            end = data.index(0, 12) + 5
            answer = (data[:2] + b"\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00" + data[12:end]
                      + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1]))
            threading.Timer(self.delay, self.reply, (answer, addr)).start()

    def reply(self, answer: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendto(answer, addr)

    def close(self) -> None:
        self.sock.close()


def check_shared(tmp: Path, env: dict[str, str], include: Path, name: str,
                 block4: str) -> list[str]:
    """A parent and a child ask a listed name 0.1 s apart while it resolves (0.5 s): Unbound
    gives them one resolution, so both must get the child's answer."""
    upstream = SlowUpstream(0.5)
    ub = Unbound(tmp, "shared", upstream.port, include, env)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            parent = pool.submit(query, ub.port, name, PARENT_ADDRESS)
            time.sleep(0.1)
            child = pool.submit(query, ub.port, name, CHILDREN["ava"])
            answers = {"child": child.result(), "parent (shared)": parent.result()}
        answers["parent (again)"] = query(ub.port, name, PARENT_ADDRESS)
    finally:
        ub.stop()
        upstream.close()
    expected = {"child": [block4], "parent (shared)": [block4], "parent (again)": ["192.0.2.1"]}
    return [f"{name} shared resolution, {who}: {answers[who]}, expected {want}"
            for who, want in expected.items() if answers[who][1] != want]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10, help="each dnsperf run (bounded)")
    args = ap.parse_args()
    for tool in ("unbound", "unbound-checkconf", "dnsperf"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install unbound dnsperf")
    if not Path(DEBIAN_DIST, "unboundmodule.py").exists():
        raise SystemExit("Unbound's Python module API is missing: apt-get install python3-unbound")
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-pymod-"))
    procs: list[Unbound] = []
    upstream = None
    failed = False
    try:
        list_file = tmp / "big.txt"
        make_list(list_file, args.domains)
        up_port = free_port()
        upstream = subprocess.Popen([sys.executable, str(HERE / "dns" / "fake_upstream.py"),
                                     str(up_port)], stdout=subprocess.DEVNULL)
        config = tmp / "kidshield.toml"
        # the export resolves the safe-search hosts through kidshield's upstream: loopback
        config.write_text(CONFIG.format(list=list_file).replace(
            "[dns]\n", f'[dns]\nupstreams = ["udp://127.0.0.1:{up_port}"]\n', 1) + PARENT)
        out = tmp / "policy"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kidshield", "export", "unbound", "-c",
                        str(config), "--out", str(out), "--at", AT.isoformat()],
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        export_wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        export_cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        exported = PolicyFile(str(out / POLICY_FILE))
        block4 = str(exported.block4)
        zones = len(exported.header["zones"])
        exported.close()
        files_mb = (out / POLICY_FILE).stat().st_size / 1e6
        include = out / CONFIG_FILE
        # Debian's unbound looks for unboundmodule.py (package python3-unbound) on a path
        # without /usr/lib/python3/dist-packages, where the package puts it
        module_env = {**os.environ, "PYTHONPATH": DEBIAN_DIST}
        # every 10th listed name: enough lookups to fault in nearly every page of the index
        listed = list_file.read_text().splitlines()[1::10]
        plain = tmp / "plain.txt"
        plain.write_text("".join(f"host{i}.cached.example A\n" for i in range(2000)))
        blocked = tmp / "blocked.txt"
        blocked.write_text("".join(f"{n} A\n" for n in listed))
        results: dict[tuple[str, str], tuple[float, int]] = {}
        memory: dict[str, tuple[float, float, float, float]] = {}
        for label, module in (("Unbound, no module", None),
                              ("Unbound + kidshield module", include)):
            ub = Unbound(tmp, label.split()[-1], up_port, module, module_env)
            procs.append(ub)
            wrong = check_answers(ub, listed, block4) if module else []
            if module:
                wrong += check_shared(tmp, module_env, include, listed[5], block4)
            for name in ("hit", "blocked", "miss"):
                if name == "miss":  # before the misses fill Unbound's caches
                    rss_after, _peak = memory_mb(ub.proc.pid)
                if name == "hit":
                    dnsperf(ub.port, ub.proc.pid, plain, "127.0.0.2", 5, once=True)  # warm
                    row = dnsperf(ub.port, ub.proc.pid, plain, "127.0.0.2", args.seconds)
                elif name == "miss":
                    misses = tmp / f"miss-{label.split()[-1]}.txt"
                    misses.write_text("".join(f"m{i}.{label.split()[-1]}.miss.example A\n"
                                              for i in range(400_000)))
                    row = dnsperf(ub.port, ub.proc.pid, misses, "127.0.0.2", args.seconds,
                                  once=True)
                else:
                    row = dnsperf(ub.port, ub.proc.pid, blocked, "127.0.0.2", args.seconds)
                results[(label, name)] = row
            peak = memory_mb(ub.proc.pid)[1]
            memory[label] = (ub.load_s, ub.rss_mb, rss_after, peak)
            ub.stop()
            procs.remove(ub)
            if wrong:
                failed = True
                print(f"{label}: answers that differ from kidshield's policy:\n  "
                      + "\n  ".join(wrong))
        version = subprocess.run(["unbound", "-V"], capture_output=True,
                                 text=True).stdout.split()[1]
        print(f"{args.domains:,} listed names, 3 child profiles, a parent; "
              f"kidshield export unbound: {export_wall:.2f} s wall, {export_cpu:.2f} s CPU "
              f"(target <= 5 s), policy file {files_mb:.0f} MB ({zones} zones)")
        print(f"\nUnbound {version}{'':19}{'load s':>8}{'RSS MB':>8}{'used':>8}{'peak':>8}"
              f"{'hit µs':>8}{'miss µs':>8}{'block µs':>9}   (Unbound CPU per query; "
              "targets: load <= 10 s, RSS <= 300 MB)")
        print("RSS MB: once it answers; used: after the hits and blocked names (the index's pages "
              "fault in); peak: after the misses too (Unbound's caches)")
        for label in ("Unbound, no module", "Unbound + kidshield module"):
            load, rss, rss_after, peak = memory[label]
            cpu = [results[(label, n)][0] for n in ("hit", "miss", "blocked")]
            print(f"{label:34}{load:>8.1f}{rss:>8.0f}{rss_after:>8.0f}{peak:>8.0f}"
                  f"{cpu[0]:>8.1f}{cpu[1]:>8.1f}{cpu[2]:>9.1f}")
    finally:
        for ub in procs:
            ub.stop()
        if upstream is not None:
            upstream.terminate()
            upstream.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
