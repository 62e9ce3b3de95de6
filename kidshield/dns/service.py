"""The DNS side of a running kidshield: the resolver, its listeners (UDP, TCP, DNS over TLS)
and the log pump that turns answers into query-log rows, metrics and used minutes.

The composition root (``kidshield.app``) builds it with what it needs (configuration, policy
runtime, state source, query-log writer, clock), starts and stops it, and hands it a new
configuration on reload. It opens no database and reads no files of its own."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from kidshield.clock import Clock, SystemClock
from kidshield.config import Config, parse_hostport
from kidshield.dns.answerlog import LOG_WINDOW, Group, LogSettings, RowGrouper, Window, rows_of
from kidshield.dns.instance import InstanceLock
from kidshield.dns.metrics import DnsMetrics
from kidshield.dns.metrics_http import BearerCheck, MetricsListener, metrics_gate
from kidshield.dns.ready import LogItem
from kidshield.dns.resolver import Resolver
from kidshield.dns.server import BindError, remember_sni, spawn, start_tcp, start_udp
from kidshield.dns.upstream import Upstream, UpstreamPool, parse_upstream
from kidshield.errors import KidshieldError
from kidshield.policy.reason import Action
from kidshield.runtime import PolicyRuntime
from kidshield.state import StateSource
from kidshield.storage.querylog import QueryRow, UsageRecord

log = logging.getLogger("kidshield.serve")


class LogSink(Protocol):
    """Where answers and used minutes go: the query-log writer, or the instance (workers)."""

    @property
    def written(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    def submit(self, record: UsageRecord) -> None: ...

    def submit_later(self, build: Callable[[], list[QueryRow]], rows: int = 1) -> None: ...

    def flush(self, timeout: float = 5.0) -> None: ...


class DnsService:
    def __init__(
        self,
        config: Config,
        runtime: PolicyRuntime,
        state: StateSource,
        writer: LogSink | None,
        clock: Clock,
        pump_interval: float = 0.02,
        extra_metrics: Callable[[], dict[str, float]] | None = None,
        instance_lock: bool = True,
    ) -> None:
        """``instance_lock``: claim the DNS addresses for this instance (dns/instance.py);
        the workers of an instance share its claim."""
        self.config = config
        self.state = state
        self.writer = writer
        self.clock = clock
        self.pump_interval = pump_interval
        self._extra = extra_metrics
        self.metrics = DnsMetrics(lambda: self.resolver, self._extra_metrics)
        pool = UpstreamPool([parse_upstream(u) for u in config.dns.upstreams],
                            config.dns.upstream_timeout)
        # log times come from the same clock as the policy, so usage minutes and budgets agree
        timestamp = time.time if isinstance(clock, SystemClock) else None
        self.resolver = Resolver(runtime, pool, clock.now, state.for_profile, timestamp,
                                 clock.monotonic)
        state.subscribe(self.resolver.invalidate)
        state.on_usage(self._used_elsewhere)
        self._transports: list[asyncio.BaseTransport] = []
        self._servers: list[asyncio.Server] = []
        self._pump_task: asyncio.Task[None] | None = None
        self._tls: ssl.SSLContext | None = None  # the DoT listeners' context
        self._metrics_http: MetricsListener | None = None  # [metrics] listen
        # set by the composition root: is this bearer an API token with the metrics scope?
        self.api_check: BearerCheck | None = None
        self._instance = InstanceLock(instance_lock)  # one kidshield per address
        self.remote_settle: Callable[[], Awaitable[None]] | None = None  # workers (--workers)
        self.bound: list[tuple[str, str, int]] = []  # (proto, host, port) actually listening
        self._closing: list[UpstreamPool] = []  # replaced by a reload, closed at stop at the latest
        self._window: Window | None = None  # this minute's answers, for the log
        self._clock_offset = 0.0  # wall minus monotonic clock at the last pump: steps show
        self._grouper = RowGrouper(_log_settings(config), self.metrics)
        self._flushes: list[Iterator[None]] = []  # ended minutes being folded, step by step
        self._rows: list[Group] = []  # folded, for the writer

    @property
    def runtime(self) -> PolicyRuntime:
        return self.resolver.runtime

    @property
    def log_pending(self) -> int:
        """Slow-path answers held for the log (fewer than ``answerlog.WINDOW_MAX``)."""
        return len(self._window.items) if self._window is not None else 0

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on every configured address; a port that cannot be bound is a
        ``BindError`` that says why, with nothing left listening."""
        try:
            await self._listen()
        except KidshieldError:
            await self.stop()
            raise
        self._pump_task = asyncio.ensure_future(self._pump_every(self.pump_interval))

    async def _listen(self) -> None:
        cfg = self.config.dns
        for item in cfg.listen:
            host, wanted = parse_hostport(item, 53)
            self._instance.acquire("dns", host, wanted)  # before binding: no query goes astray
            for attempt in range(20):
                udp = await start_udp(self.resolver, host, wanted)
                port = udp.get_extra_info("sockname")[1]  # port 0: the kernel chose one
                try:
                    server = await start_tcp(self.resolver, host, port)
                except BindError:
                    udp.close()
                    if wanted == 0 and attempt < 19:
                        continue  # the port the kernel gave UDP is taken for TCP: again
                    raise
                break
            self._transports.append(udp)
            self._servers.append(server)
            self.bound += [("udp", host, port), ("tcp", host, port)]
        tls = self._tls = self.tls_context()
        for item in cfg.dot_listen:
            if tls is None:
                raise KidshieldError("dns.dot_listen needs dns.tls_certificate and dns.tls_key")
            host, port = parse_hostport(item, 853)
            self._instance.acquire("dot", host, port)
            server = await start_tcp(self.resolver, host, port, tls)
            self._servers.append(server)
            self.bound.append(("dot", host, server.sockets[0].getsockname()[1]))
        if self.config.metrics.listen:
            host, port = parse_hostport(self.config.metrics.listen, 9153)
            self._metrics_http = MetricsListener(self.metrics.view, self.settle,
                                                 metrics_gate(self.config, self.api_check),
                                                 lambda: self.bound)
            self.bound.append(("metrics", host, await self._metrics_http.start(host, port)))

    def _reload_certificate(self) -> None:
        """Certificates are renewed in place (e.g. by certbot) and followed by a reload: load
        them into the running context, after checking them on a scratch one."""
        cfg = self.config.dns
        if self._tls is None or not cfg.tls_certificate or not cfg.tls_key:
            return
        cert, key = self.config.path(cfg.tls_certificate), self.config.path(cfg.tls_key)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
            self._tls.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            log.error("cannot load the new TLS certificate, keeping the old one: %s", exc)

    def tls_context(self) -> ssl.SSLContext | None:
        cfg = self.config.dns
        if not cfg.tls_certificate or not cfg.tls_key:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.config.path(cfg.tls_certificate),
                                self.config.path(cfg.tls_key))
        except (OSError, ssl.SSLError) as exc:
            raise KidshieldError(f"cannot load the TLS certificate or key: {exc}") from None
        ctx.set_alpn_protocols(["dot"])
        ctx.sni_callback = remember_sni  # DoT client ids come from the SNI's first label
        return ctx

    async def stop(self) -> None:
        """Stop listening and hand what was answered to the log writer (which the caller
        closes)."""
        if self._pump_task is not None:
            self._pump_task.cancel()
            self._pump_task = None
        if self._metrics_http is not None:
            self._metrics_http.close()
            self._metrics_http = None
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
        self._transports.clear()
        self._servers.clear()
        self._instance.release()  # once nothing of ours listens any more
        self.pump(final=True)
        await self.resolver.upstreams.close()
        for pool in self._closing:
            await pool.close()
        self._closing.clear()

    async def _pump_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                self.pump()
            except Exception:
                log.exception("collecting answers for the log failed")

    # -- reload ---------------------------------------------------------------------------
    def configure(self, config: Config, runtime: PolicyRuntime) -> None:
        """A reloaded configuration: the new policy answers at once; upstreams, the TLS
        certificate and log settings follow. Listen addresses need a restart."""
        if (config.dns.listen, config.dns.dot_listen) != (
            self.config.dns.listen, self.config.dns.dot_listen
        ):
            log.warning("listen addresses changed: restart kidshield to apply them")
        old_upstreams = self.config.dns.upstreams
        self.config = config
        self.resolver.configure(runtime)
        if config.dns.upstreams != old_upstreams:
            self._swap_upstreams(config.dns.upstreams)
        self.resolver.upstreams.timeout = config.dns.upstream_timeout
        self._reload_certificate()
        self._grouper.settings = _log_settings(config)

    def _swap_upstreams(self, urls: list[str]) -> None:
        """New upstreams from a reload. One whose URL stays is kept as it is (its health,
        counters and UDP socket: its metrics go on counting); the others are closed once
        the queries they still have in flight have had their time."""
        old = self.resolver.upstreams
        reuse: dict[str, Upstream] = {u.url: u for u in reversed(old.upstreams)}
        # popped: a URL listed twice is kept once, the second is a new one
        upstreams = [reuse.pop(url) if url in reuse else parse_upstream(url) for url in urls]
        self.resolver.upstreams = UpstreamPool(upstreams, old.timeout)
        taken = {id(u) for u in upstreams}
        left = [u for u in old.upstreams if id(u) not in taken]
        if not left:
            return
        dropped = UpstreamPool(left, old.timeout)

        async def close_later() -> None:
            await asyncio.sleep(old.timeout + 0.5)
            if dropped in self._closing:  # not already closed by stop()
                self._closing.remove(dropped)
                await dropped.close()

        self._closing.append(dropped)
        spawn(close_later())

    # -- log pump ---------------------------------------------------------------------------
    def pump(self, final: bool = False) -> None:
        """Collect what the listeners noted for the log; count usage minutes.

        Answers are gathered per minute; when the minute ends (or ``final``) it is folded
        into rows and metrics in small steps between answers (all at once when ``final``)
        and the rows go to the log writer. Fast-path answers are timed here, to within one
        pump interval."""
        resolver = self.resolver
        items, touched, services = resolver.take_log()
        now = resolver.timestamp()
        offset = now - resolver.monotonic()
        if self._clock_offset and abs(offset - self._clock_offset) > 1.0:
            # ready answers expire by the monotonic clock: a stepped wall clock (NTP after
            # boot on a board without a real-time clock) must not leave them answering for
            # the old time
            log.info("the clock stepped by %+.0f s: answers are decided again",
                     offset - self._clock_offset)
            resolver.invalidate()
        self._clock_offset = offset
        start = int(now) // LOG_WINDOW * LOG_WINDOW
        window = self._window
        if window is not None and window.start != start:
            self._flush(window)
            window = self._window = None
        if touched or items:
            if window is None:
                window = self._window = Window(start)
            if window.add(now, touched, items):
                self._flush(window.take_items())
        self._count_usage(now, services, items)
        if final:
            if window is not None:
                self._flush(window)
                self._window = None
            for steps in self._flushes:
                try:
                    for _ in steps:
                        pass
                except Exception:
                    log.exception("counting answers for the log failed")
            self._flushes.clear()
            self._hand_rows()

    def _flush(self, window: Window) -> None:
        self._flushes.append(self._grouper.flush_steps(window, self._rows))
        if len(self._flushes) == 1:
            asyncio.get_running_loop().call_soon(self._flush_step)

    def _flush_step(self) -> None:
        """One small step of folding an ended minute into log rows; then answers go on."""
        if not self._flushes:
            return
        try:
            next(self._flushes[0])
        except StopIteration:
            self._flushes.pop(0)
            self._hand_rows()
        except Exception:
            log.exception("counting answers for the log failed")
            self._flushes.pop(0)
        if self._flushes:
            asyncio.get_running_loop().call_soon(self._flush_step)

    def _hand_rows(self) -> None:
        if self._rows and self.writer is not None:
            ended, self._rows = self._rows, []
            self.writer.submit_later(lambda: rows_of(ended), sum(map(len, ended)))

    async def settle(self) -> None:
        """Everything answered so far in the log and the metrics (dashboards, /metrics)."""
        if self.remote_settle is not None:
            await self.remote_settle()  # the instance's workers first: their rows come here
        self.pump(final=True)
        if self.writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.flush)

    def _count_usage(self, now: float, services: set[tuple[str, str]],
                     items: list[LogItem]) -> None:
        seen = {(pid, service, now) for pid, service in services}
        for ts, _client, t, _latency in items:
            # a safe-search rewrite (restricted YouTube) is still time spent on the service
            if t.service and t.action in (Action.ALLOW, Action.REWRITE):
                seen.add((t.profile, t.service, ts // 60 * 60))
        budget_hit: set[str] = set()
        profiles = self.resolver.runtime.profiles
        for pid, service, ts in seen:
            profile = profiles.get(pid)
            if profile is None:
                continue
            new = self.state.add_usage_minute(profile, service, datetime.fromtimestamp(ts, UTC))
            if new is not None:
                if self.writer is not None:
                    self.writer.submit(UsageRecord(pid, service, *new))
                if service in profile.budgets:
                    budget_hit.add(pid)
        for pid in budget_hit:
            self.resolver.invalidate(pid)

    def _used_elsewhere(self, pid: str, service: str) -> None:
        """Minutes another node counted: decisions for the profile are made again only when
        they can change (the service has a budget)."""
        profile = self.resolver.runtime.profiles.get(pid)
        if profile is not None and service in profile.budgets:
            self.resolver.invalidate(pid)

    def _extra_metrics(self) -> dict[str, float]:
        w = self.writer
        return {
            "kidshield_querylog_rows_written": float(w.written if w else 0),
            "kidshield_querylog_rows_dropped": float(w.dropped if w else 0),
            **(self._extra() if self._extra is not None else {}),
        }


def _log_settings(config: Config) -> LogSettings:
    return LogSettings(config.logging.anonymize_clients, config.logging.only_blocked)
