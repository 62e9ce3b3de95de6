"""``kidshield serve --workers N``: one instance answering from N processes.

The instance (the process ``serve`` starts) keeps everything that must exist once: the web
server, the query-log writer, the state a parent changes, the fleet export, the metrics
endpoint and the claim on the DNS addresses (dns/instance.py). It starts N-1 worker processes
(``python -m kidshield.dns.worker``) that answer DNS on the same addresses (``SO_REUSEPORT``:
the kernel spreads queries over the processes) with the same configuration and lists, and talk
to the instance over a socket pair:

    worker -> instance   ("ready",) ("rows", [QueryRow]) ("usage", UsageRecord)
                         ("metrics", snapshot, seq) ("stopped",)
    instance -> worker   ("settle", seq)  fold what was answered so far, send rows and metrics
                         ("reload",) ("stop",)

So there is one log writer (the instance writes every worker's rows and minutes used), one
count of minutes used (every process reads the others' from the database, as the nodes of a
shared database do, so a daily budget ends on time whichever process answers), and one
metrics view (the instance adds the workers' counters to its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from prometheus_client.metrics_core import Metric

from kidshield.process import python_m
from kidshield.storage.querylog import QueryLogWriter, QueryRow, UsageRecord

log = logging.getLogger("kidshield.workers")

Snapshot = list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]
STOP_TIMEOUT = 15.0


def snapshot(families: Iterable[Metric]) -> Snapshot:
    """A worker's kidshield metrics, as plain tuples for the instance to add up."""
    out: Snapshot = []
    for family in families:
        if not family.name.startswith("kidshield_dns") and family.name != "kidshield_list_rules":
            continue
        samples = [(s.name, dict(s.labels), float(s.value)) for s in family.samples
                   if not s.name.endswith("_created")]
        out.append((family.name, family.type, family.documentation, samples))
    return out


# gauges that describe the same thing in every process: taken from the instance, not added
SHARED_GAUGES = frozenset({"kidshield_list_rules", "kidshield_dns_upstream_rtt_seconds"})


def merge(families: Iterable[Metric], snapshots: list[Snapshot]) -> list[Metric]:
    """The instance's metric families with every worker's samples added in."""
    extra: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for snap in snapshots:
        for name, _type, _doc, samples in snap:
            if name in SHARED_GAUGES:
                continue
            bucket = extra.setdefault(name, {})
            for sample, labels, value in samples:
                key = (sample, tuple(sorted(labels.items())))
                bucket[key] = bucket.get(key, 0.0) + value
    out = []
    for family in families:
        adds = extra.get(family.name)
        if not adds:
            out.append(family)
            continue
        merged = Metric(family.name, family.documentation, family.type)
        seen = set()
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            seen.add(key)
            merged.add_sample(s.name, s.labels, s.value + adds.get(key, 0.0), s.timestamp,
                              s.exemplar)
        for (sample, pairs), value in adds.items():
            if (sample, pairs) not in seen:
                merged.add_sample(sample, dict(pairs), value)
        out.append(merged)
    return _ratio(out)


def _ratio(families: list[Metric]) -> list[Metric]:
    """The cache hit ratio of all processes together (a ratio cannot be added up)."""
    lookups = next((f for f in families if f.name == "kidshield_dns_cache_lookups"), None)
    if lookups is None:
        return families
    counts = {s.labels.get("result"): s.value for s in lookups.samples}
    total = counts.get("hit", 0.0) + counts.get("miss", 0.0)
    out = []
    for family in families:
        if family.name == "kidshield_dns_cache_hit_ratio":
            family = Metric(family.name, family.documentation, family.type)
            family.add_sample(family.name, {}, counts.get("hit", 0.0) / total if total else 0.0)
        out.append(family)
    return out


class _Worker:
    def __init__(self, index: int, proc: subprocess.Popen[bytes], conn: Connection) -> None:
        self.index = index
        self.proc = proc
        self.conn = conn
        self.lock = threading.Lock()  # sends come from the loop and from reader threads
        self.metrics: Snapshot = []
        self.seq = 0  # the last "settle" this worker answered
        self.settled = asyncio.Event()
        self.ready = asyncio.Event()
        self.stopped = asyncio.Event()

    def send(self, message: tuple[Any, ...]) -> None:
        # a worker that is gone is reported by its reader thread
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


class WorkerPool:
    """The instance's side: starts the workers and handles what they send."""

    def __init__(self, config_path: Path, count: int, writer: QueryLogWriter) -> None:
        self.config_path = config_path
        self.count = count
        self.writer = writer
        self.workers: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = 0
        self._args: list[str] = []  # the addresses the workers answer on
        self._stopping = False

    async def start(self, bound: list[tuple[str, str, int]], timeout: float = 120.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._args = [",".join(_hostport(h, p) for proto, h, p in bound if proto == "udp"),
                      ",".join(_hostport(h, p) for proto, h, p in bound if proto == "dot")]
        for index in range(1, self.count):
            self.workers.append(self._spawn(index))
        try:
            await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in self.workers)),
                                   timeout)
        except TimeoutError:
            await self.stop()
            raise RuntimeError("the DNS workers did not start in time") from None

    def _spawn(self, index: int) -> _Worker:
        mine, theirs = socket.socketpair()
        proc = subprocess.Popen(
            [*python_m("kidshield.dns.worker"), str(self.config_path),
             str(theirs.fileno()), *self._args, str(index)],
            pass_fds=[theirs.fileno()], env=os.environ.copy())
        theirs.close()
        worker = _Worker(index, proc, Connection(mine.detach()))
        threading.Thread(target=self._read, args=(worker,), daemon=True,
                         name=f"worker-{index}").start()
        return worker

    def _read(self, worker: _Worker) -> None:
        loop = self._loop
        assert loop is not None
        while True:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            loop.call_soon_threadsafe(self._handle, worker, message)
        loop.call_soon_threadsafe(self._gone, worker)

    def _gone(self, worker: _Worker) -> None:
        worker.stopped.set()
        worker.ready.set()  # (a worker that died starting)
        if self._stopping or worker not in self.workers:
            return
        # a worker that ends unasked (killed, crashed): the others answer meanwhile, and a
        # new one takes its place
        code = worker.proc.poll()
        if code is None:  # it closed its side but lives on: end it
            worker.proc.kill()
            code = worker.proc.wait(5)
        log.error("DNS worker %d (pid %d) ended unexpectedly (exit code %s): starting it again",
                  worker.index, worker.proc.pid, code)
        worker.conn.close()
        assert self._loop is not None
        # a second later: a worker that cannot start does not spin the instance's core
        self._loop.call_later(1.0, self._replace, worker)

    def _replace(self, worker: _Worker) -> None:
        if self._stopping or worker not in self.workers:
            return
        self.workers[self.workers.index(worker)] = self._spawn(worker.index)

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "rows":
            rows: list[QueryRow] = message[1]
            self.writer.submit_later(lambda: rows, len(rows))
        elif kind == "usage":
            record: UsageRecord = message[1]
            self.writer.submit(record)
        elif kind == "metrics":
            worker.metrics = message[1]
            if len(message) > 2:
                worker.seq = max(worker.seq, message[2])
                worker.settled.set()
        elif kind == "ready":
            log.info("DNS worker %d answering (pid %d)", worker.index, worker.proc.pid)
            worker.ready.set()
        elif kind == "stopped":
            worker.stopped.set()

    def broadcast(self, message: tuple[Any, ...], skip: _Worker | None = None) -> None:
        for worker in self.workers:
            if worker is not skip:
                worker.send(message)

    def snapshots(self) -> list[Snapshot]:
        return [w.metrics for w in self.workers]

    async def settle(self, timeout: float = 1.0) -> None:
        """Every worker's answers so far in the log and the metrics (as DnsService.settle
        does for the instance's own), waiting at most ``timeout``."""
        self._seq += 1
        seq = self._seq
        self.broadcast(("settle", seq))

        async def one(worker: _Worker) -> None:
            while worker.seq < seq and not worker.stopped.is_set():
                worker.settled.clear()
                await worker.settled.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(one(w) for w in self.workers)), timeout)

    def reload(self) -> None:
        self.broadcast(("reload",))

    async def stop(self) -> None:
        """Workers stop answering, send their last rows, and exit."""
        self._stopping = True
        self.broadcast(("stop",))
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.stopped.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("DNS worker %d did not stop in time", worker.index)
        for worker in self.workers:
            try:
                worker.proc.wait(5)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait(5)
            worker.conn.close()
        self.workers.clear()


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
