"""The resolver measured in-process: CPU nanoseconds per answer on the fast path, against
the dict server's lookup (bench/dns/dict_server.py) on the same queries in the same run, and
CPU microseconds per query through the slow path's stages when the answer cache has the data.

    python bench/dns/in_process.py [--names 5000] [--rounds 40] [--repeat 5]

No sockets on the measured path, so the figures are the resolver's own Python work, which
dnsperf's figures bury under the kernel's UDP work and the machine's other load. The slow
path fills the ready answers and the cache first (a fake upstream on 127.0.0.1 answers it).
Each fast-path case times ``Resolver.answer_fast`` over every name, ``--rounds`` times, and
keeps the fastest of ``--repeat`` runs; the ratio is against the dict lookup timed the same
way. The slow-path case times ``Resolver.resolve`` (every stage: parse to log, the upstream
answer from the cache, the decision from the decision cache) the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dns.message

HERE = Path(__file__).resolve().parent

CONFIG = """[server]
storage = "{tmp}/bench.db"
default_profile = "kid"
[dns]
listen = ["127.0.0.1:0"]
upstreams = ["udp://127.0.0.1:{upstream}"]
rate_limit_qps = {qps}
[logging]
anonymize_clients = {anonymize}
[profiles.kid]
age_band = "13-15"
bedtime_days = []
deny = ["blocked.example"]
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def per_answer_ns(func: Callable[[bytes], object], queries: list[bytes], rounds: int,
                  repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time_ns()
        for _ in range(rounds):
            for query in queries:
                func(query)
        best = min(best, (time.process_time_ns() - started) / (rounds * len(queries)))
    return best


def dict_floor(queries: list[bytes]) -> Callable[[bytes], object]:
    """The dict server's datagram handler, without the send."""
    ready: dict[bytes, bytes] = {}
    for query in queries:
        msg = dns.message.from_wire(query)
        response = dns.message.make_response(msg)
        qend = query.find(0, 12) + 5
        ready[query[12:qend]] = response.to_wire()

    def answer(data: bytes) -> bytes | None:
        qend = data.find(0, 12) + 5
        found = ready.get(data[12:qend])
        if found is not None:
            return data[:2] + found[2:12] + data[12:qend] + found[qend:]
        return None

    return answer


def queries_for(names: list[str], kind: str) -> list[bytes]:
    out = []
    for i, name in enumerate(names):
        if kind == "capitals":
            name = "".join(c.upper() if (i + j) % 2 else c for j, c in enumerate(name))
        msg = dns.message.make_query(name, "A", use_edns=0 if kind == "edns" else None)
        msg.id = i & 0xFFFF
        out.append(msg.to_wire())
    return out


async def fill(resolver: object, queries: list[bytes]) -> None:
    for query in queries:
        answer = await resolver.resolve(query, "127.0.0.1", True)  # type: ignore[attr-defined]
        assert answer is not None


def slow_path_ns(resolver: object, queries: list[bytes], rounds: int, repeat: int) -> float:
    """``resolve`` never suspends when the cache has the answer: one coroutine runs them."""
    resolve = resolver.resolve  # type: ignore[attr-defined]

    async def run() -> None:
        for _ in range(rounds):
            for query in queries:
                await resolve(query, "127.0.0.1", True)
            resolver.take_log()  # type: ignore[attr-defined]

    best = float("inf")
    loop = asyncio.new_event_loop()
    try:
        for _ in range(repeat):
            started = time.process_time_ns()
            loop.run_until_complete(run())
            best = min(best, (time.process_time_ns() - started) / (rounds * len(queries)))
    finally:
        loop.close()
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--names", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from kidshield.config import load_config
    from kidshield.dns.resolver import Resolver
    from kidshield.dns.upstream import UpstreamPool, parse_upstream
    from kidshield.runtime import PolicyRuntime

    up_port = free_port()
    upstream = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), str(up_port)])
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-fast-"))
    names = [f"host{i}.bench{i % 97}.example" for i in range(args.names)]
    blocked = [f"n{i}.blocked.example" for i in range(args.names)]
    cases = [
        ("plain", "0", "true", names, "plain"),
        ("EDNS", "0", "true", names, "edns"),
        ("0x20 capitals", "0", "true", names, "capitals"),
        ("blocked name", "0", "true", blocked, "plain"),
        ("rate limiter on", "1000000000", "true", names, "plain"),
        ("client addresses logged", "0", "false", names, "plain"),
    ]
    results: list[tuple[str, float, float]] = []
    try:
        time.sleep(0.3)
        for label, qps, anonymize, case_names, kind in cases:
            path = tmp / f"{len(results)}.toml"
            path.write_text(CONFIG.format(tmp=tmp, upstream=up_port, qps=qps,
                                          anonymize=anonymize))
            config = load_config(path)
            runtime = PolicyRuntime.build(config)
            pool = UpstreamPool([parse_upstream(u) for u in config.dns.upstreams])
            resolver = Resolver(runtime, pool, lambda: datetime.now(UTC), None, time.time)
            queries = queries_for(case_names, kind)
            stored = queries_for(case_names, "edns" if kind == "edns" else "plain")
            asyncio.run(fill(resolver, stored))
            # as `kidshield serve` sets the collector up (dns/service.py)
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)
            fast = resolver.answer_fast

            def answer(data: bytes, fast: Callable[..., bytes | None] = fast) -> object:
                return fast(data, "127.0.0.1", True)

            missing = sum(1 for q in queries if answer(q) is None)
            if missing:
                sys.exit(f"{label}: {missing} queries not answered by the fast path")
            floor = per_answer_ns(dict_floor(stored), stored, args.rounds, args.repeat)
            ours = per_answer_ns(answer, queries, args.rounds, args.repeat)
            results.append((label, ours, floor))
            resolver.take_log()
            print(f"-- {label}: {ours:.0f} ns, dict floor {floor:.0f} ns", flush=True)
            if label == "plain":
                slow = slow_path_ns(resolver, stored, max(1, args.rounds // 10), args.repeat)
                print(f"-- slow path: {slow / 1000:.2f} us", flush=True)
    finally:
        upstream.terminate()
    print(f"\n{'':26}{'answer_fast ns':>15}{'dict ns':>9}{'ratio':>7}")
    for label, ours, floor in results:
        print(f"{label:26}{ours:>15.0f}{floor:>9.0f}{ours / floor:>7.2f}")
    print(f"slow path, cache hit: {slow / 1000:.2f} us per query (all stages, no I/O)")


if __name__ == "__main__":
    main()
