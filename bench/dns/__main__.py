"""DNS benchmark: kidshield against Unbound, dnsmasq and a bare uvloop dict server (the floor
for a Python server, bench/dns/dict_server.py), same names, same machine, one run.

    python bench/dns [--duration 10] [--clients 32] [--domains 1000000] [--fuzz 1000000]

Installs unbound, dnsmasq and dnsperf from Debian packages when missing (needs root), starts a
fake authoritative upstream on loopback, and measures with dnsperf:

  (a) cache-hit throughput, (b) server CPU time per answered query (from /proc),
  (c) kidshield with a 1,000,000-domain block list and a mix of blocked, safe-search and
      allowed names, (d) p99 latency at a fixed 5,000 qps, (e) RSS with the 1M list,
  (f) the cache-miss path (a new name every query, so every answer needs the upstream).
All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from processes import stop  # noqa: E402
from unbound_conf import forwarder_conf  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("unbound", "unbound"), ("dnsperf", "dnsperf"),
                                     ("dnsmasq", "dnsmasq-base"))
               if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"please install: apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def cpu_seconds(pid: int) -> float:
    """CPU time of the process and of its running children (serve --workers)."""

    def fields(stat: Path) -> list[str]:
        return stat.read_text().rsplit(")", 1)[1].split()

    own = fields(Path(f"/proc/{pid}/stat"))
    total = int(own[11]) + int(own[12])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            child = fields(stat)
        except (OSError, IndexError):
            continue
        if child[1] == str(pid):
            total += int(child[11]) + int(child[12])
    return total / TICKS


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_udp(port: int, timeout: float = 60.0) -> None:
    query = bytes.fromhex("abcd01000001000000000000") + b"\x04warm\x07example\x00\x00\x01\x00\x01"
    deadline = time.time() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        while time.time() < deadline:
            s.sendto(query, ("127.0.0.1", port))
            try:
                s.recvfrom(4096)
                return
            except OSError:
                continue
    raise RuntimeError(f"server on port {port} did not answer")


@dataclass
class Run:
    qps: float
    completed: int
    lost: int
    cpu: float
    latencies: list[float]

    @property
    def cpu_us_per_query(self) -> float:
        return self.cpu / self.completed * 1e6 if self.completed else float("nan")

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def dnsperf(port: int, pid: int, qfile: Path, *, duration: float | None, clients: int,
            qps: int | None = None, runs: int | None = None, verbose: bool = False) -> Run:
    cmd = [tool("dnsperf"), "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile),
           "-c", str(clients), "-t", "2"]
    if duration:
        cmd += ["-l", str(duration)]
    if runs:
        cmd += ["-n", str(runs)]
    if qps:
        cmd += ["-Q", str(qps)]
    if verbose:
        cmd.append("-v")
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    stats: dict[str, float] = {}
    latencies: list[float] = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("> "):
            latencies.append(float(line.split()[-1]))
        else:
            for key in ("Queries per second", "Queries completed", "Queries lost"):
                if line.startswith(key + ":"):
                    stats[key] = float(line.split(":", 1)[1].split()[0])
    return Run(stats.get("Queries per second", 0.0), int(stats.get("Queries completed", 0)),
               int(stats.get("Queries lost", 0)), cpu, latencies)


class Server:
    def __init__(self, name: str, cmd: list[str], port: int, cwd: Path) -> None:
        self.name = name
        self.port = port
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=open(cwd / f"{name}.log", "w"))  # noqa: SIM115
        try:
            wait_udp(port)
        except RuntimeError:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop(self.proc)


def start_unbound(tmp: Path, upstream: int) -> Server:
    port = free_port()
    conf = tmp / "unbound.conf"
    conf.write_text(forwarder_conf(tmp, port, upstream))
    return Server("unbound", [tool("unbound"), "-c", str(conf)], port, tmp)


def start_dnsmasq(tmp: Path, upstream: int) -> Server:
    port = free_port()
    cmd = [tool("dnsmasq"), "-k", "--no-resolv", "--no-hosts", f"--server=127.0.0.1#{upstream}",
           f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
           "--cache-size=10000", "--user=root", "--pid-file=", "--log-facility=-"]
    return Server("dnsmasq", cmd, port, tmp)


def start_dict_server(tmp: Path, names: Path) -> Server:
    port = free_port()
    return Server("dict-server", [sys.executable, str(HERE / "dict_server.py"), str(port),
                                  str(names)], port, tmp)


def start_kidshield(tmp: Path, upstream: int, name: str, block_list: Path | None,
                    workers: int = 1) -> Server:
    port = free_port()
    lists = ""
    if block_list is not None:
        lists = f'[[lists]]\nname = "big"\nsource = "{block_list}"\ncategory = "adult"\n'
    conf = tmp / f"{name}.toml"
    conf.write_text(f"""[server]
storage = "{tmp / (name + '.db')}"
default_profile = "kid"
[dns]
listen = ["127.0.0.1:{port}"]
upstreams = ["udp://127.0.0.1:{upstream}"]
rate_limit_qps = 0
[web]
listen = "127.0.0.1:{free_port()}"
{lists}
[profiles.kid]
age_band = "13-15"
bedtime_days = []
""")
    # the resolver alone: the dashboard is not part of answering DNS
    cmd = [sys.executable, "-m", "kidshield", "serve", "--no-web", "--config", str(conf),
           "--workers", str(workers)]
    return Server(name, cmd, port, tmp)


def make_query_files(tmp: Path, domains: int) -> tuple[Path, Path, Path, Path | None]:
    rnd = random.Random(5)
    allowed = [f"host{i}.bench{i % 97}.example" for i in range(5000)]
    plain = tmp / "allowed.txt"
    plain.write_text("".join(f"{n} A\n" for n in allowed))
    block_list = None
    blocked: list[str] = []
    if domains:
        letters = string.ascii_lowercase + string.digits
        names = {f"{''.join(rnd.choices(letters, k=rnd.randint(6, 14)))}.com"
                 for _ in range(domains)}
        while len(names) < domains:
            names.add(f"{''.join(rnd.choices(letters, k=12))}.net")
        block_list = tmp / "block-1m.txt"
        ordered = sorted(names)
        block_list.write_text("\n".join(ordered) + "\n")
        blocked = rnd.sample(ordered, 1700)
    safe = ["www.google.com", "www.google.co.uk", "www.google.de", "www.bing.com",
            "duckduckgo.com", "www.youtube.com", "m.youtube.com"]
    mixed = tmp / "mixed.txt"
    lines = [f"{n} A\n" for n in blocked] + [f"{n} A\n" for n in safe * 240]
    lines += [f"{n} A\n" for n in allowed[:1700]]
    rnd.shuffle(lines)
    mixed.write_text("".join(lines))
    misses = tmp / "misses.txt"
    misses.write_text("".join(f"m{i}x{rnd.randrange(10**9)}.miss.example A\n"
                              for i in range(60_000)))
    return plain, mixed, misses, block_list


def fuzz(port: int, pid: int, count: int) -> tuple[float, float, bool]:
    """Send ``count`` mutated packets; return RSS before/after and whether answers still work."""
    rnd = random.Random(99)
    base = (bytes.fromhex("123401000001000000000000")
            + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01")
    before = rss_mb(pid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for i in range(count):
            kind = i % 4
            if kind == 0:
                pkt = rnd.randbytes(rnd.randint(0, 600))
            elif kind == 1:
                pkt = base[: rnd.randint(0, len(base))]
            elif kind == 2:
                pkt = bytearray(base)
                for _ in range(rnd.randint(1, 6)):
                    pkt[rnd.randrange(len(pkt))] = rnd.randrange(256)
                pkt = bytes(pkt)
            else:  # compression pointer loop in the question
                pkt = base[:12] + b"\xc0\x0c\x00\x01\x00\x01"
            try:
                s.sendto(pkt, ("127.0.0.1", port))
            except BlockingIOError:
                time.sleep(0.001)
            if i % 2000 == 0:
                time.sleep(0.002)  # let the server breathe; we test robustness, not flooding
                try:
                    while True:
                        s.recv(4096)
                except OSError:
                    pass
    time.sleep(1.0)
    try:
        wait_udp(port, timeout=5)
        ok = True
    except RuntimeError:
        ok = False
    return before, rss_mb(pid), ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--fixed-qps", type=int, default=5000)
    ap.add_argument("--fuzz", type=int, default=0,
                    help="also send N mutated packets (e.g. 1000000)")
    ap.add_argument("--no-dnsmasq", action="store_true")
    ap.add_argument("--workers", type=int, default=0,
                    help="also measure kidshield serve --workers N (cache hits)")
    args = ap.parse_args()
    ensure_tools()
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-dns-"))
    print(f"work dir: {tmp}", flush=True)
    plain, mixed, misses, block_list = make_query_files(tmp, args.domains)
    up_port = free_port()
    upstream = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), str(up_port)])
    time.sleep(0.5)
    results: dict[str, dict[str, float]] = {}
    servers = [("unbound", lambda: start_unbound(tmp, up_port)),
               ("kidshield", lambda: start_kidshield(tmp, up_port, "kidshield", None))]
    if not args.no_dnsmasq:
        servers.insert(1, ("dnsmasq", lambda: start_dnsmasq(tmp, up_port)))
    # the floor for any Python server: ready answers from a dict, nothing else
    servers.insert(1, ("dict-server", lambda: start_dict_server(tmp, plain)))
    if block_list is not None:
        servers.append(("kidshield+1M", lambda: start_kidshield(tmp, up_port, "kidshield1m",
                                                                block_list)))
    if args.workers > 1:
        servers.append((f"kidshield x{args.workers}", lambda: start_kidshield(
            tmp, up_port, "kidshieldw", None, args.workers)))
    try:
        for name, start in servers:
            print(f"-- {name}", flush=True)
            server = start()
            try:
                qfile = mixed if name == "kidshield+1M" else plain
                dnsperf(server.port, server.pid, qfile, duration=None, clients=4, runs=2)  # warm
                hit = dnsperf(server.port, server.pid, qfile, duration=args.duration,
                              clients=args.clients)
                fixed = dnsperf(server.port, server.pid, qfile, duration=args.duration,
                                clients=args.clients, qps=args.fixed_qps, verbose=True)
                if name == "dict-server":  # it answers only the warm names
                    results[name] = {"qps": hit.qps, "cpu_us": hit.cpu_us_per_query,
                                     "p50_ms": fixed.percentile(0.5) * 1000,
                                     "p99_ms": fixed.percentile(0.99) * 1000}
                    print(f"   qps={hit.qps:.2f}, cpu_us={hit.cpu_us_per_query:.2f}", flush=True)
                    continue
                rss_warm = rss_mb(server.pid)  # list loaded, cache warm with the test names
                # file-backed: shared libraries and kidshield's mapped list index (clean
                # pages the kernel can drop and read again)
                rss_anon, rss_file = rss_mb(server.pid, "RssAnon"), rss_mb(server.pid, "RssFile")
                miss = dnsperf(server.port, server.pid, misses, duration=args.duration,
                               clients=args.clients, runs=1)
                row = {"qps": hit.qps, "cpu_us": hit.cpu_us_per_query, "lost": hit.lost,
                       "p50_ms": fixed.percentile(0.5) * 1000,
                       "p99_ms": fixed.percentile(0.99) * 1000, "miss_qps": miss.qps,
                       "miss_cpu_us": miss.cpu_us_per_query, "rss": rss_warm,
                       "rss_after_misses": rss_mb(server.pid),
                       "rss_anon": rss_anon, "rss_file": rss_file}
                if args.fuzz and name.startswith("kidshield"):
                    before, after, ok = fuzz(server.port, server.pid, args.fuzz)
                    row.update(fuzz_rss_before=before, fuzz_rss_after=after, fuzz_ok=float(ok))
                results[name] = row
                print("   " + ", ".join(f"{k}={v:.2f}" for k, v in row.items()), flush=True)
            finally:
                server.stop()
    finally:
        upstream.terminate()
    report(results, args)


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    ub = results["unbound"]
    print("\n" + "=" * 78)
    header = f"{'':16}{'cache-hit qps':>14}{'CPU µs/query':>14}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'miss qps':>10}{'RSS MB':>8}{'(+60k)':>8}"
    print(header)
    for name, r in results.items():
        if "rss" not in r:  # the dict server: cache hits only
            print(f"{name:16}{r['qps']:>14,.0f}{r['cpu_us']:>14.1f}{r['p50_ms']:>9.3f}"
                  f"{r['p99_ms']:>9.3f}")
            continue
        print(f"{name:16}{r['qps']:>14,.0f}{r['cpu_us']:>14.1f}{r['p50_ms']:>9.3f}"
              f"{r['p99_ms']:>9.3f}{r['miss_qps']:>10,.0f}{r['rss']:>8.1f}"
              f"{r['rss_after_misses']:>8.1f}")
    ks = results["kidshield"]
    print("\nratios against Unbound (targets from issue 3):")
    checks = [
        ("(a) cache-hit throughput", ks["qps"] / ub["qps"], ">= 0.80",
         ks["qps"] / ub["qps"] >= 0.8),
        ("(b) CPU per answered query", ks["cpu_us"] / ub["cpu_us"], "<= 1.50",
         ks["cpu_us"] / ub["cpu_us"] <= 1.5),
        ("(d) p99 latency at fixed qps", ks["p99_ms"] / ub["p99_ms"], "<= 2.00",
         ks["p99_ms"] / ub["p99_ms"] <= 2.0),
        ("(f) cache-miss throughput", ks["miss_qps"] / ub["miss_qps"], "(reported)", True),
    ]
    big = results.get("kidshield+1M")
    if big is not None:
        checks.insert(2, ("(c) 1M list + mix vs (a)", big["qps"] / ks["qps"], ">= 0.90",
                          big["qps"] / ks["qps"] >= 0.9))
        checks.insert(4, ("(e) RSS with 1M list (MB)", big["rss"], "<= 100", big["rss"] <= 100))
    for label, value, target, ok in checks:
        print(f"  {label:32}{value:8.2f}  target {target:10} {'ok' if ok else 'MISSED'}")
    for name, r in results.items():
        if name.startswith("kidshield x"):
            print(f"  {name} (serve --workers): cache-hit throughput "
                  f"{r['qps'] / ks['qps']:.2f}x of one process, CPU per answer "
                  f"{r['cpu_us'] / ks['cpu_us']:.2f}x")
    floor = results.get("dict-server")
    if floor is not None:
        print(f"  the dict server (Python floor) against Unbound: throughput "
              f"{floor['qps'] / ub['qps']:.2f}, CPU {floor['cpu_us'] / ub['cpu_us']:.2f}; "
              f"kidshield against it: CPU {ks['cpu_us'] / floor['cpu_us']:.2f}")
    for name, r in results.items():
        if "rss" not in r:
            continue
        print(f"  RSS warm {name}: {r['rss']:.1f} MB = {r['rss_anon']:.1f} anonymous + "
              f"{r['rss_file']:.1f} file-backed")
    for name, r in results.items():
        if "fuzz_ok" in r:
            print(f"  fuzz ({args.fuzz:,} packets) {name}: answers afterwards "
                  f"{'ok' if r['fuzz_ok'] else 'FAILED'}, RSS {r['fuzz_rss_before']:.1f} -> "
                  f"{r['fuzz_rss_after']:.1f} MB")


if __name__ == "__main__":
    main()
