"""The running resolver: listeners, resolver, log pump, state refresh, reload and shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from kidshield.app import PolicyRuntime, StoredState
from kidshield.clock import Clock, SystemClock
from kidshield.config import Config, load_config, parse_hostport
from kidshield.dns.answerlog import LOG_WINDOW, Group, LogSettings, RowGrouper, Window, rows_of
from kidshield.dns.metrics import DnsMetrics
from kidshield.dns.resolver import LogItem, Resolver
from kidshield.dns.server import BindError, remember_sni, spawn, start_tcp, start_udp
from kidshield.dns.upstream import UpstreamPool, parse_upstream
from kidshield.errors import KidshieldError
from kidshield.lists.loader import effective_lists
from kidshield.lists.sources import list_path
from kidshield.policy.domains import release_free_memory
from kidshield.policy.model import Profile
from kidshield.policy.state import Grant, ProfileState
from kidshield.storage.db import Database
from kidshield.storage.querylog import QueryLogWriter, UsageRecord
from kidshield.usage import UsageTracker

log = logging.getLogger("kidshield.serve")

LIST_UPDATE_CHECK = 900.0  # seconds between checks for lists due for download


class DnsService:
    def __init__(
        self,
        config: Config,
        config_path: Path | None = None,
        clock: Clock | None = None,
        pump_interval: float = 0.02,
        state_interval: float = 2.0,
        watch_interval: float = 3.0,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.clock: Clock = clock or SystemClock()
        self.pump_interval = pump_interval
        self.state_interval = state_interval
        self.watch_interval = watch_interval
        self.resolver: Resolver | None = None
        self.db: Database | None = None
        self.writer: QueryLogWriter | None = None
        self.usage = UsageTracker()
        self.states: dict[str, ProfileState] = {}
        self.pauses: dict[str, datetime] = {}
        self.metrics = DnsMetrics(lambda: self.resolver, self._extra_metrics)
        self._transports: list[asyncio.BaseTransport] = []
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._mtimes: dict[Path, float] = {}
        self.reloads = 0
        self.reload_failures = 0
        self._tls: ssl.SSLContext | None = None  # the DoT listeners' context
        self.bound: list[tuple[str, str, int]] = []  # (proto, host, port) actually listening
        self.on_reload: list[Callable[[PolicyRuntime], None]] = []
        self._closing: list[UpstreamPool] = []  # replaced by a reload, closed at stop at the latest
        self._window: Window | None = None  # this minute's answers, for the log
        self._clock_offset = 0.0  # wall minus monotonic clock at the last pump: steps show
        self._grouper = RowGrouper(_log_settings(config), self.metrics)
        self._flushes: list[Iterator[None]] = []  # ended minutes being folded, step by step
        self._rows: list[Group] = []  # folded, for the writer

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        runtime = await loop.run_in_executor(None, self._build_runtime, self.config)
        for problem in runtime.loaded.problems:
            log.warning("%s", problem)
        self.db = Database.open(self.config.storage_target(), migrate=False)
        self.db.migrate_isolated()
        self.writer = QueryLogWriter(self.db, self.config.logging.retention_days, self.clock.now)
        self.writer.start()
        self._seed_usage(runtime)
        pool = UpstreamPool([parse_upstream(u) for u in self.config.dns.upstreams])
        # log times come from the same clock as the policy, so usage minutes and budgets agree
        timestamp = time.time if isinstance(self.clock, SystemClock) else None
        self.resolver = Resolver(runtime, pool, self.clock.now, self.state_for, timestamp)
        self.refresh_states()
        try:
            await self._listen()
        except KidshieldError:
            await self.stop()
            raise
        self._remember_mtimes()
        self._tasks = [
            asyncio.ensure_future(self._every(self.pump_interval, self.pump)),
            asyncio.ensure_future(self._every(self.state_interval, self._refresh_in_thread)),
            asyncio.ensure_future(self._every(self.watch_interval, self._watch)),
            asyncio.ensure_future(self._list_updates()),
        ]

    async def _listen(self) -> None:
        assert self.resolver is not None
        cfg = self.config.dns
        for item in cfg.listen:
            host, wanted = parse_hostport(item, 53)
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
            server = await start_tcp(self.resolver, host, port, tls)
            self._servers.append(server)
            self.bound.append(("dot", host, server.sockets[0].getsockname()[1]))

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
        for task in self._tasks:
            task.cancel()
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
        self._transports.clear()
        self._servers.clear()
        if self.resolver is not None:
            self.pump(final=True)
            await self.resolver.upstreams.close()
        for pool in self._closing:
            await pool.close()
        self._closing.clear()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.db is not None:
            self.db.close()
            self.db = None

    async def _every(self, seconds: float, func: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                result = func()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("background job %s failed", getattr(func, "__name__", func))

    def install_signal_handlers(self, stopped: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: spawn(self.reload()))
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        loop.add_signal_handler(signal.SIGINT, stopped.set)

    def _build_runtime(self, config: Config) -> PolicyRuntime:
        from kidshield.lists.isolated import can_isolate

        return PolicyRuntime.build(config, isolated=can_isolate() and bool(config.lists))

    # -- reload ---------------------------------------------------------------------------
    async def reload(self) -> bool:
        """Re-read the configuration and lists; swap atomically. Bad input keeps the old
        state running and says why."""
        loop = asyncio.get_running_loop()
        try:
            config = load_config(self.config_path) if self.config_path else self.config
            runtime = await loop.run_in_executor(None, self._build_runtime, config)
        except KidshieldError as exc:
            log.error("reload failed, still serving the previous configuration:\n%s", exc)
            return self._reload_failed()
        assert self.resolver is not None
        before = self.resolver.runtime.loaded.reports
        lost = [lst.name for lst in config.lists
                if lst.enabled and lst.name in before and lst.name not in runtime.loaded.reports]
        if lost:
            # a list that loaded before and now cannot (deleted, replaced by a web page):
            # keep protecting with the old copy rather than silently dropping it
            log.error("reload failed, still serving the previous configuration: list %s "
                      "cannot be loaded any more:\n%s", ", ".join(lost),
                      "\n".join(runtime.loaded.problems))
            return self._reload_failed()
        if (config.dns.listen, config.dns.dot_listen) != (
            self.config.dns.listen, self.config.dns.dot_listen
        ):
            log.warning("listen addresses changed: restart kidshield to apply them")
        old_upstreams = self.config.dns.upstreams
        self.config = config
        self.resolver.configure(runtime)
        if config.dns.upstreams != old_upstreams:
            self._swap_upstreams(config.dns.upstreams)
        self._reload_certificate()
        if self.writer is not None:
            self.writer.retention_days = config.logging.retention_days
        self._grouper.settings = _log_settings(config)
        self.refresh_states()
        self._remember_mtimes()
        self.reloads += 1
        for hook in self.on_reload:
            hook(runtime)
        log.info("reloaded: %d profiles, %d list rules", len(runtime.profiles),
                 len(runtime.loaded.lists.index))
        return True

    def _reload_failed(self) -> bool:
        self.reload_failures += 1
        self._remember_mtimes()  # the watcher tries again when the files change again
        return False

    def _swap_upstreams(self, urls: list[str]) -> None:
        """New upstreams from a reload; the old pool is closed once the queries it still
        has in flight have had their time."""
        assert self.resolver is not None
        old = self.resolver.upstreams
        self.resolver.upstreams = UpstreamPool([parse_upstream(u) for u in urls], old.timeout)

        async def close_later() -> None:
            await asyncio.sleep(old.timeout + 0.5)
            if old in self._closing:  # not already closed by stop()
                self._closing.remove(old)
                await old.close()

        self._closing.append(old)
        spawn(close_later())

    async def _list_updates(self) -> None:
        await asyncio.sleep(5.0)  # soon after start: a new install has nothing downloaded yet
        while True:
            try:
                await self._update_lists()
            except Exception:
                log.exception("list update failed")
            await asyncio.sleep(LIST_UPDATE_CHECK)

    async def _update_lists(self) -> None:
        """Download URL lists that are due, in a child process (the download code stays out
        of the resolver's memory); the file watcher then reloads what changed."""
        if self.config_path is None or not any(
            lst.enabled and lst.source.startswith(("http://", "https://"))
            for lst in self.config.lists
        ):
            return
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kidshield", "lists", "update", "--due-only",
            "--config", str(self.config_path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _out, err = await proc.communicate()
        if proc.returncode:
            log.warning("list update: %s", err.decode(errors="replace").strip()[-1000:])

    def _watched(self) -> list[Path]:
        paths = [self.config_path] if self.config_path else []
        paths += [list_path(self.config, lst) for lst in effective_lists(self.config)
                  if lst.enabled]
        folder = self.config.path(self.config.server.data_dir)
        # a reports list appearing for the first time must trigger a reload too
        paths += [folder / self.config.reports.block_list, folder / self.config.reports.allow_list]
        return paths

    def _remember_mtimes(self) -> None:
        self._mtimes = {p: _mtime(p) for p in self._watched()}

    async def _watch(self) -> None:
        if any(_mtime(p) != m for p, m in self._mtimes.items()):
            await self.reload()

    # -- state ----------------------------------------------------------------------------
    def state_for(self, profile: Profile, now: datetime) -> ProfileState:
        state = self.states.get(profile.id, ProfileState())
        usage = self.usage.minutes(profile.id, now.astimezone(profile.tz).date())
        return replace(state, usage_minutes=usage, paused_until=self.pauses.get(profile.id))

    async def _refresh_in_thread(self) -> None:
        """Read grants off the event loop; apply the result on it."""
        loop = asyncio.get_running_loop()
        fresh = await loop.run_in_executor(None, self._read_grants)
        self._apply_grants(fresh)

    def _read_grants(self) -> dict[str, tuple[Grant, ...]]:
        if self.db is None or self.resolver is None:
            return {}
        stored = StoredState(self.db)
        now = self.clock.now()
        return {pid: tuple(stored.grants.active(pid, now))
                for pid in self.resolver.runtime.profiles}

    def _apply_grants(self, fresh: dict[str, tuple[Grant, ...]]) -> None:
        if self.resolver is None:
            return
        for pid, grants in fresh.items():
            old = self.states.get(pid)
            if old is None or old.grants != grants:
                self.states[pid] = ProfileState(grants=grants)
                if old is not None:
                    self.resolver.invalidate(pid)

    def refresh_states(self) -> None:
        """Re-read grants now (after a parent approved a request) so answers change at once."""
        self._apply_grants(self._read_grants())

    def pause(self, profile: str, until: datetime | None) -> None:
        if until is None:
            self.pauses.pop(profile, None)
        else:
            self.pauses[profile] = until
        if self.resolver is not None:
            self.resolver.invalidate(profile)

    def _seed_usage(self, runtime: PolicyRuntime) -> None:
        if self.db is None:
            return
        stored = StoredState(self.db)
        now = self.clock.now()
        for profile in runtime.profiles.values():
            day = now.astimezone(profile.tz).date()
            for service, minutes in stored.usage.minutes(profile.id, day).items():
                self.usage.seed(profile.id, service, day, minutes)

    # -- log pump ---------------------------------------------------------------------------
    def pump(self, final: bool = False) -> None:
        """Collect what the listeners noted for the log; count usage minutes.

        Answers are gathered per minute; when the minute ends (or ``final``) it is folded
        into rows and metrics in small steps between answers (all at once when ``final``)
        and the rows go to the log writer. Fast-path answers are timed here, to within one
        pump interval."""
        resolver = self.resolver
        if resolver is None:
            return
        items, touched, services = resolver.take_log()
        now = resolver.timestamp()
        offset = now - time.monotonic()
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
            if touched:
                window.touched.append((now, touched))
            window.items += items
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
            self.writer.submit_later(lambda: rows_of(ended))

    async def settle(self) -> None:
        """Everything answered so far in the log and the metrics (dashboards, /metrics)."""
        self.pump(final=True)
        if self.writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.flush)

    def _count_usage(self, now: float, services: set[tuple[str, str]],
                     items: list[LogItem]) -> None:
        assert self.resolver is not None
        seen = {(pid, service, now) for pid, service in services}
        for ts, _client, t, _latency in items:
            # a safe-search rewrite (restricted YouTube) is still time spent on the service
            if t.service and t.action in ("allow", "rewrite"):
                seen.add((t.profile, t.service, ts // 60 * 60))
        budget_hit: set[str] = set()
        profiles = self.resolver.runtime.profiles
        for pid, service, ts in seen:
            profile = profiles.get(pid)
            when = datetime.fromtimestamp(ts, UTC)
            if profile is not None and self.usage.record(pid, service, when, profile.tz):
                if self.writer is not None:
                    self.writer.submit(UsageRecord(pid, service,
                                                   when.astimezone(profile.tz).date(), 1.0, when))
                if service in profile.budgets:
                    budget_hit.add(pid)
        for pid in budget_hit:
            self.resolver.invalidate(pid)

    def _extra_metrics(self) -> dict[str, float]:
        w = self.writer
        return {
            "kidshield_querylog_written": float(w.written if w else 0),
            "kidshield_querylog_dropped": float(w.dropped if w else 0),
            "kidshield_reloads": float(self.reloads),
            "kidshield_reload_failures": float(self.reload_failures),
        }


def _log_settings(config: Config) -> LogSettings:
    return LogSettings(config.logging.anonymize_clients, config.logging.only_blocked)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


async def serve_forever(config_path: Path, ready: Callable[[DnsService], None] | None = None,
                        web: bool = True) -> None:
    """``kidshield serve``: DNS listeners plus the web server, until SIGTERM/SIGINT."""
    # The log writer thread must hand the interpreter back to the event loop quickly, or
    # answers wait for it (the default switch interval is 5 ms).
    sys.setswitchinterval(float(__import__("os").environ.get("KS_SWI", "0.0005")))
    config = load_config(config_path)
    service = DnsService(config, config_path)
    await service.start()
    # Answers make little cyclic garbage; fewer, cheaper collections keep latency even.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    release_free_memory()  # start-up temporaries back to the OS
    stopped = asyncio.Event()
    service.install_signal_handlers(stopped)
    web_task = None
    if web:
        from kidshield.web.server import serve_web

        web_task = asyncio.ensure_future(serve_web(service, stopped))
    if ready is not None:
        ready(service)
    await stopped.wait()
    log.info("shutting down: flushing the query log")
    if web_task is not None:
        await asyncio.wait({web_task}, timeout=5)
    await service.stop()

