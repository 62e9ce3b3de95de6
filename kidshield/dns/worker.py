"""A DNS worker of ``kidshield serve --workers N`` (started by dns/workers.py, not by hand):

    python -m kidshield.dns.worker CONFIG FD LISTEN DOT_LISTEN INDEX

It answers DNS on the instance's addresses with the instance's configuration and lists, reads
grants and pauses from the shared database like the instance does, and sends its log rows,
the minutes it counts and its metrics to the instance over the socket ``FD``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kidshield.clock import SystemClock
from kidshield.config import Config, load_config
from kidshield.dns.server import spawn
from kidshield.dns.service import DnsService
from kidshield.dns.workers import snapshot
from kidshield.errors import KidshieldError
from kidshield.lists.isolated import can_isolate
from kidshield.process import SWITCH_INTERVAL, without_httpx_cli
from kidshield.runtime import PolicyRuntime
from kidshield.state import StateSource, overlay
from kidshield.storage.db import Database
from kidshield.storage.querylog import QueryRow, UsageRecord
from kidshield.storage.state_sql import SqlStateStore

log = logging.getLogger("kidshield.worker")
STATE_REFRESH = 2.0  # as the instance refreshes grants and pauses
METRICS_EVERY = 1.0


class PipeWriter:
    """The log writer as a worker's resolver sees it: rows and minutes go to the instance."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.written = 0
        self.dropped = 0

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock:
            try:
                self.conn.send(message)
            except (OSError, ValueError):
                self.dropped += 1

    def submit(self, record: UsageRecord) -> None:
        self.send(("usage", record))

    def submit_later(self, build: Any, rows: int = 1) -> None:
        built: list[QueryRow] = build()  # the instance's writer bounds what it holds
        if built:
            self.send(("rows", built))

    def flush(self, timeout: float = 5.0) -> None:
        """The instance writes; nothing to wait for here."""


def worker_config(config: Config, listen: list[str], dot: list[str]) -> Config:
    """The instance's configuration on the ports it actually got, without what only the
    instance runs (metrics listener, fleet)."""
    dns = config.dns.model_copy(update={"listen": listen, "dot_listen": dot})
    metrics = config.metrics.model_copy(update={"listen": None})
    fleet = config.fleet.model_copy(update={"listen": None})
    return config.model_copy(update={"dns": dns, "metrics": metrics, "fleet": fleet})


def build_runtime(config: Config) -> PolicyRuntime:
    """As the instance builds it: the list index in a child process (lists/isolated.py)."""
    return PolicyRuntime.build(config, isolated=can_isolate() and bool(config.lists))


async def run(config_path: Path, conn: Connection, listen: list[str], dot: list[str]) -> None:
    loop = asyncio.get_running_loop()
    config = worker_config(load_config(config_path), listen, dot)
    runtime = await loop.run_in_executor(None, build_runtime, config)
    db = Database.open(config.storage_target(), migrate=False)  # the instance migrated it
    clock = SystemClock()
    state = StateSource(SqlStateStore(db), clock)
    state.load()
    # the dashboard's edits over the file, as the instance applies them
    config = overlay.effective(config, state.edits()).config
    runtime = runtime.with_config(config)
    writer = PipeWriter(conn)
    dns = DnsService(config, runtime, state, writer, clock, instance_lock=False)
    await dns.start()
    stopping = asyncio.Event()

    def handle(message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "settle":
            dns.pump(final=True)  # this minute's answers folded now, the rows sent
            writer.send(("metrics", snapshot(dns.metrics.registry.collect()), message[1]))
        elif kind == "reload":
            spawn(reload())
        elif kind == "stop":
            stopping.set()

    async def reload() -> None:
        try:
            fresh = worker_config(load_config(config_path), listen, dot)
            fresh = overlay.effective(fresh, state.edits()).config
            new_runtime = await loop.run_in_executor(None, build_runtime, fresh)
        except KidshieldError as exc:
            log.error("worker reload failed, still answering with the previous "
                      "configuration: %s", exc)
            return
        dns.configure(fresh, new_runtime)

    def receive() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                loop.call_soon_threadsafe(stopping.set)  # the instance is gone
                return
            loop.call_soon_threadsafe(handle, message)

    threading.Thread(target=receive, daemon=True, name="instance").start()

    async def every(seconds: float, job: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("worker job failed")

    async def refresh() -> None:
        """Grants, pauses, minutes used by every process, dashboard edits (the instance
        writes them; every process reads them back, as the nodes of one database do)."""
        snapshot_ = await loop.run_in_executor(None, state.read)
        state.apply(snapshot_)

    async def metrics() -> None:
        writer.send(("metrics", snapshot(dns.metrics.registry.collect())))

    jobs = [asyncio.ensure_future(every(STATE_REFRESH, refresh)),
            asyncio.ensure_future(every(METRICS_EVERY, metrics))]
    writer.send(("ready",))
    await stopping.wait()
    for job in jobs:
        job.cancel()
    await dns.stop()  # the last rows go to the instance
    writer.send(("metrics", snapshot(dns.metrics.registry.collect())))
    writer.send(("stopped",))
    db.close()


def main(argv: list[str]) -> None:
    config_path, fd, listen, dot, index = argv
    without_httpx_cli()  # a DoH upstream imports httpx: not its command line
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s %(levelname)s worker {index} %(name)s: %(message)s")
    sys.setswitchinterval(SWITCH_INTERVAL)  # as the instance
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the worker stops when the
    # instance tells it to (after its last rows are sent), or when the instance is gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(int(fd))
    coro = run(Path(config_path), conn, [x for x in listen.split(",") if x],
               [x for x in dot.split(",") if x])
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)
    else:
        uvloop.run(coro)


if __name__ == "__main__":
    main(sys.argv[1:])
