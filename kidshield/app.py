"""Composition root: ``Application`` builds everything ``kidshield serve`` runs from a
configuration and a clock, starts it in one explicit order and stops it in the reverse order.

1. the database, migrated
2. the state source: grants, pauses, minutes used, requests and dashboard edits
   (``kidshield.state``); the configuration in force is the file with those edits
3. the policy runtime of that configuration: lists (the file's and the dashboard's, built in
   a child process when it can), engine
4. the query-log writer thread
5. the DNS service: resolver and listeners
6. with the web server: the features (``kidshield.features``), the web app and its listener
7. background jobs: state sync (every second: what other nodes changed), reload when files
   change, list downloads, and the features' own (report retention, hash matches into cases)

Nothing below this module builds its own collaborators; ``reload`` hands every part the new
configuration. Process-wide tuning (hash seed, allocator, GC) belongs to the command-line
entry (``kidshield.cli``), not here.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kidshield.clock import Clock, SystemClock
from kidshield.config import Config, ListConfig, load_config
from kidshield.dns.server import spawn
from kidshield.dns.service import DnsService
from kidshield.errors import KidshieldError
from kidshield.lists.loader import effective_lists, stale_warnings
from kidshield.lists.sources import cache_path, is_url, list_path
from kidshield.policy.helplines import HelplineBook
from kidshield.process import python_m
from kidshield.runtime import PolicyRuntime
from kidshield.state import StateSource, overlay
from kidshield.state.editor import SettingsEditor
from kidshield.storage.db import Database
from kidshield.storage.querylog import QueryLogWriter
from kidshield.storage.state_sql import SqlStateStore

if TYPE_CHECKING:
    from kidshield.dns.workers import WorkerPool
    from kidshield.features import Features
    from kidshield.fleet.service import FleetService
    from kidshield.web.auth import Authenticator
    from kidshield.web.dohserver import DohServer
    from kidshield.web.server import WebServer

log = logging.getLogger("kidshield.serve")
T = TypeVar("T")


@dataclass(frozen=True)
class Timings:
    """How often the background jobs run, in seconds (tests shorten them)."""

    pump: float = 0.02  # answers into log rows, metrics and used minutes
    # state versions polled in the database (one small read); what moved is re-read, so a
    # change on another node is in force here within about this plus a second of log batching
    state: float = 1.0
    watch: float = 3.0  # configuration and list files checked for changes
    first_list_update: float = 5.0  # a new install has nothing downloaded yet
    list_updates: float = 900.0  # URL lists due for download
    fleet: float = 30.0  # longest wait between looks at the clock for a schedule edge
    fleet_retry: float = 5.0  # first wait to try a failed fleet export again
    summaries: float = 300.0  # weekly summaries due to be sent


# Settings that open a socket, a database or a certificate authority at start: a reload
# cannot apply them (dns.listen and dns.dot_listen are reported by DnsService.configure).
START_ONLY = (
    ("server", "storage"), ("web", "listen"), ("web", "local_ca"),
    ("web", "block_https_listen"), ("web", "setup_minutes"), ("dns", "doh_listen"),
    ("metrics", "listen"), ("metrics", "web"), ("metrics", "auth"), ("metrics", "token_file"),
)


def start_only_changes(old: Config, new: Config) -> list[str]:
    """The start-only settings that differ between two configuration files: a reload
    keeps the old ones, and said only "reloaded" before, so a new metrics listener or web
    address seemed to be in force."""
    return [f"{part}.{name}" for part, name in START_ONLY
            if getattr(getattr(old, part), name) != getattr(getattr(new, part), name)]


def build_runtime(config: Config, isolate: bool = True) -> PolicyRuntime:
    """The policy runtime, with the list index built in a child process when the hash seed
    allows it (``lists/isolated.py``)."""
    from kidshield.lists.isolated import can_isolate

    return PolicyRuntime.build(config,
                               isolated=isolate and can_isolate() and bool(config.lists))


class Application:
    def __init__(self, config: Config, clock: Clock | None = None, *,
                 config_path: Path | None = None, web: bool = True,
                 timings: Timings = Timings(), isolate: bool = True, workers: int = 1) -> None:
        """``isolate``: build the list index and migrate the database in short-lived child
        processes, so the long-running server never holds their temporary memory (or
        alembic, numpy). The result is the same either way; tests turn it off to start
        faster."""
        self._file_config = config  # as the file says it
        self._config = config  # in force: the file with the dashboard's edits
        self.isolate = isolate
        self.clock: Clock = clock or SystemClock()
        self._config_path = config_path
        self.web_enabled = web
        self.timings = timings
        self.reloads = 0
        self.reload_failures = 0
        # built by start(), in this order
        self._runtime: PolicyRuntime | None = None
        self._db: Database | None = None
        self._writer: QueryLogWriter | None = None
        self._state: StateSource | None = None
        self._editor: SettingsEditor | None = None
        self._dns: DnsService | None = None
        self.features: Features | None = None
        self.web: WebServer | None = None
        self.doh: list[DohServer] = []  # [dns] doh_listen: DoH over HTTP/2 and HTTP/1.1
        self.fleet: FleetService | None = None  # [fleet]: the policy for other resolvers
        self.workers = workers  # DNS processes of this instance (serve --workers)
        self._pool: WorkerPool | None = None
        self._stopping = asyncio.Event()
        self._jobs: list[asyncio.Task[None]] = []
        self._mtimes: dict[Path, float] = {}
        # one list build at a time: a reload and a dashboard list change must not finish in
        # the wrong order and put back the lists before the change
        self._rebuilding = asyncio.Lock()
        self._built_lists: list[ListConfig] = []  # the lists the runtime's index holds

    @classmethod
    def from_file(cls, path: Path, clock: Clock | None = None, **options: Any) -> Application:
        return cls(load_config(path), clock, config_path=path, **options)

    # -- the parts (each exists once start() has built it) ----------------------------------
    @property
    def config(self) -> Config:
        """The configuration in force: the file with the dashboard's edits."""
        return self._config

    @property
    def file_config(self) -> Config:
        """The configuration as the file says it (the last one that loaded)."""
        return self._file_config

    @property
    def config_path(self) -> Path | None:
        return self._config_path

    @property
    def runtime(self) -> PolicyRuntime:
        return _built(self._runtime, "policy runtime")

    @property
    def db(self) -> Database:
        return _built(self._db, "database")

    @property
    def writer(self) -> QueryLogWriter:
        return _built(self._writer, "query log writer")

    @property
    def state(self) -> StateSource:
        return _built(self._state, "state source")

    @property
    def editor(self) -> SettingsEditor:
        return _built(self._editor, "settings editor")

    @property
    def dns(self) -> DnsService:
        return _built(self._dns, "DNS service")

    @property
    def bound(self) -> list[tuple[str, str, int]]:
        """(protocol, host, port) of every listener, with the port the kernel gave."""
        found = list(self._dns.bound) if self._dns is not None else []
        found += self.fleet.bound if self.fleet is not None else []
        if self.web is not None:
            found.append((self.web.scheme, self.web.host, self.web.port))
            if self.web.block_https is not None:
                found.append(("https-block", self.web.block_https.host,
                              self.web.block_https.port))
        found += [("doh", d.host, d.port) for d in self.doh]
        return found

    # -- start and stop -------------------------------------------------------------------------
    async def start(self) -> None:
        """Build and start everything; on any error, stop what was started and raise."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        config = self._file_config
        self._db = Database.open(config.storage_target(), migrate=False)
        if self.isolate:
            self._db.migrate_isolated()
        else:
            self._db.migrate()
        state = self._state = StateSource(SqlStateStore(self._db), self.clock)
        state.load()
        self._editor = SettingsEditor(state, lambda: self._file_config, self.clock)
        config = self._config = self._editor.refresh().config
        runtime = self._runtime = await self._build_runtime(config)
        self._built_lists = list(config.lists)
        for problem in runtime.loaded.problems + stale_warnings(runtime.loaded):
            log.warning("%s", problem)
        state.on_edits(self._settings_changed)  # after the editor: it recomputes first
        self._writer = QueryLogWriter(self._db, config.logging.retention_days, self.clock.now)
        self._writer.start()
        if self.workers > 1:
            from kidshield.dns.workers import WorkerPool

            if self._config_path is None:
                raise KidshieldError("workers read the configuration file: start from a file")
            self._pool = WorkerPool(self._config_path, self.workers, self._writer)
        self._dns = DnsService(config, runtime, state, self._writer, self.clock,
                               self.timings.pump, self._metrics)
        self._dns.api_check = self._metrics_reader(self._db)
        await self._dns.start()
        if self._pool is not None:
            await self._pool.start(self._dns.bound)
            self._dns.metrics.remote = self._pool.snapshots
            self._dns.remote_settle = self._pool.settle
        if (config.fleet.listen or config.fleet.unbound_out) and self._config_path is not None:
            from kidshield.fleet.metrics import FleetCollector
            from kidshield.fleet.service import FleetService

            self.fleet = FleetService(config, self._config_path, self.clock, self.timings.fleet,
                                      self.timings.fleet_retry)
            self._dns.metrics.add(FleetCollector(lambda: self.fleet))
            await self.fleet.start()
        if self.web_enabled:
            await self._start_web()
        self._remember_mtimes()
        self._stopping.clear()
        self._jobs = [asyncio.ensure_future(job) for job in self._background_jobs()]

    async def _start_web(self) -> None:
        from kidshield.features import FeatureEnv, build_features
        from kidshield.storage.web_sql import SqlSettingStore
        from kidshield.web.context import WebDeps
        from kidshield.web.csrf import server_secret
        from kidshield.web.ratelimit import LIMITS, RateLimiter
        from kidshield.web.server import WebServer, create_app

        assert self._db is not None and self._dns is not None and self._state is not None
        assert self._editor is not None
        secret = server_secret(SqlSettingStore(self._db))
        limiter = RateLimiter(LIMITS, lambda: self.clock.now().timestamp())
        env = FeatureEnv(self._config, self._db, self.clock, self._profile_for,
                         self._lists_changed_callback(), self.helplines, secret, limiter,
                         lambda: self.web.url if self.web is not None else None)
        self.features = build_features(env)
        app = create_app(WebDeps(self, self._dns, self._db, self._state, self._editor,
                                 self.clock, secret, limiter, self.features.web))
        self.web = WebServer(app, self._config)
        await self.web.start()
        if self._config.dns.doh_listen:
            from kidshield.web.dohserver import DohServer
            from kidshield.web.server import create_doh_app

            doh_app = create_doh_app(app, WebDeps(
                self, self._dns, self._db, self._state, self._editor, self.clock, secret,
                limiter, []))
            for listen in self._config.dns.doh_listen:
                server = DohServer(doh_app, self._config, listen)
                self.doh.append(server)
                await server.start()

    def _metrics_reader(self, db: Database) -> Callable[[str], bool]:
        """Whether a bearer is an API token with the metrics scope (the metrics listener).

        The web side's authentication (Starlette, argon2: about 10 MB) is imported when a
        bearer first comes, not at start: a resolver run with ``--no-web`` and no scraper
        never holds it (docs/performance.md, RSS)."""
        authenticators: list[Authenticator] = []

        def check(token: str) -> bool:
            from kidshield.web.access import Permission

            if not authenticators:
                from kidshield.storage.web_sql import (
                    SqlApiTokenStore,
                    SqlSessionStore,
                    SqlUserStore,
                )
                from kidshield.web.auth import Authenticator

                authenticators.append(Authenticator(SqlUserStore(db), SqlSessionStore(db),
                                                    SqlApiTokenStore(db)))
            user = authenticators[0].from_bearer(token, self.clock.now())
            return user is not None and user.can(Permission.METRICS)
        return check

    async def stop(self) -> None:
        """Stop in the reverse order of start; safe to call on a partly started application."""
        self._stopping.set()
        for task in self._jobs:
            task.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        self._jobs = []
        for doh in self.doh:
            await doh.stop()
        self.doh = []
        if self.web is not None:
            await self.web.stop()
            self.web = None
        if self.fleet is not None:
            await self.fleet.stop()
            self.fleet = None
        if self._pool is not None:  # the workers' last rows reach the writer before it closes
            await self._pool.stop()
            self._pool = None
        if self._dns is not None:
            await self._dns.stop()
            self._dns = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def run(self, ready: Callable[[Application], None] | None = None) -> None:
        """``kidshield serve``: start, then serve until SIGTERM or SIGINT; SIGHUP reloads."""
        await self.start()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: spawn(self.reload()))
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        loop.add_signal_handler(signal.SIGINT, stopped.set)
        if ready is not None:
            ready(self)
        await stopped.wait()
        log.info("shutting down: flushing the query log")
        await self.stop()

    # -- reload ---------------------------------------------------------------------------------
    async def _build_runtime(self, config: Config) -> PolicyRuntime:
        """The runtime of a configuration in force, its lists loaded (off the event loop)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, build_runtime, config, self.isolate)

    async def reload(self) -> bool:
        """Re-read the configuration and lists and hand them to every part. Bad input keeps
        the previous configuration running and says why."""
        async with self._rebuilding:
            try:
                file = load_config(self._config_path) if self._config_path else self._file_config
            except KidshieldError as exc:
                log.error("reload failed, still serving the previous configuration:\n%s", exc)
                return self._reload_failed()
            return await self._rebuild(file)

    async def _rebuild(self, file: Config) -> bool:
        """Build the lists and profiles of ``file`` with the dashboard's edits (lists the
        dashboard added or removed too, as the workers build theirs) and put them in force."""
        try:
            in_force = overlay.effective(file, self.state.edits()).config
            runtime = await self._build_runtime(in_force)
        except KidshieldError as exc:
            log.error("reload failed, still serving the previous configuration:\n%s", exc)
            return self._reload_failed()
        before = self.runtime.loaded.reports
        lost = [lst.name for lst in in_force.lists
                if lst.enabled and lst.name in before and lst.name not in runtime.loaded.reports]
        if lost:
            # a list that loaded before and now cannot (deleted, replaced by a web page):
            # keep protecting with the old copy rather than silently dropping it
            log.error("reload failed, still serving the previous configuration: list %s "
                      "cannot be loaded any more:\n%s", ", ".join(lost),
                      "\n".join(runtime.loaded.problems))
            return self._reload_failed()
        for warning in stale_warnings(runtime.loaded):
            log.warning("%s", warning)
        if changed := start_only_changes(self._file_config, file):
            log.warning("%s changed: read at start only, restart kidshield to apply",
                        ", ".join(changed))
        self._file_config = file
        self._built_lists = list(in_force.lists)
        in_force = self.editor.refresh().config  # records the edits the file has overtaken
        self._apply_config(in_force, runtime.with_config(in_force))
        await self._sync_state()
        self._remember_mtimes()
        self.reloads += 1
        log.info("reloaded: %d profiles, %d list rules", len(runtime.profiles),
                 len(runtime.loaded.lists.index))
        return True

    def _settings_changed(self) -> None:
        """The dashboard edits in force changed (here or on another node): the profiles,
        devices and settings they touch are rebuilt at once; when they add, change or remove
        a list, the lists are built again as a reload builds them (in the background)."""
        if self._runtime is None or self._dns is None:
            return
        config = self.editor.config()
        if config is self._config:
            return
        self._apply_config(config, self._runtime.with_config(config))
        if config.lists != self._built_lists:
            spawn(self._lists_edited(config))

    async def _lists_edited(self, config: Config) -> None:
        """A list added in the dashboard of another node has no copy here yet: download it
        first (the node that added it has one), then build."""
        if any(lst.enabled and is_url(lst.source) and not cache_path(config, lst).exists()
               for lst in config.lists):
            await self._update_lists()
        await self.apply_list_edits()

    async def apply_list_edits(self) -> bool:
        """Build the lists again when the dashboard's edits changed them since the last
        build (the dashboard awaits it, so the page it shows next has the new list)."""
        async with self._rebuilding:
            if self.editor.config().lists == self._built_lists:  # a build since has them
                return True
            return await self._rebuild(self._file_config)

    def _apply_config(self, config: Config, runtime: PolicyRuntime) -> None:
        self._config, self._runtime = config, runtime
        self.dns.configure(config, runtime)
        self.writer.retention_days = config.logging.retention_days
        if self._pool is not None:  # the workers read the file and the edits again
            self._pool.reload()
        if self.fleet is not None:  # the zones follow the file and the dashboard's edits
            self.fleet.configure(config)
            spawn(self.fleet.regenerate())

    def _reload_failed(self) -> bool:
        self.reload_failures += 1
        self._remember_mtimes()  # the watcher tries again when the files change again
        return False

    def _lists_changed_callback(self) -> Callable[[], None]:
        """A moderator's decision added a domain to the reports block or allow list: reload.
        Decisions are recorded in worker threads, so the reload is handed to the loop."""
        loop = asyncio.get_running_loop()

        def changed() -> None:
            loop.call_soon_threadsafe(lambda: spawn(self.reload()))

        return changed

    def helplines(self) -> HelplineBook:
        """The helplines in force: shipped and the operator's own, for the server's country
        (read at each use, so a reload with new [[helplines]] is seen at once)."""
        return HelplineBook(tuple(self.runtime.catalog.helplines), self._config.server.country)

    def _profile_for(self, address: str) -> str | None:
        if self._runtime is None:
            return None
        return self._runtime.profile_for_client(address).id

    # -- background jobs ------------------------------------------------------------------------
    def _background_jobs(self) -> list[Coroutine[Any, Any, None]]:
        t = self.timings
        jobs = [self._every(t.state, self._sync_state), self._every(t.watch, self._watch),
                self._list_updates()]
        web = self.web.context if self.web is not None else None
        if web is not None:
            jobs.append(self._every(t.summaries, web.notifier.send_weekly_due))
        for feature in self.features.web if self.features is not None else []:
            jobs += [job(self._stopping) for job in feature.jobs]
        return jobs

    async def _every(self, seconds: float,
                     job: Callable[[], Coroutine[Any, Any, object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("background job %s failed", job.__name__)

    async def _sync_state(self) -> None:
        """What changed in the database (here or on another node), read off the event loop,
        applied on it."""
        state = self.state
        snapshot = await asyncio.get_running_loop().run_in_executor(None, state.read)
        state.apply(snapshot)

    def refresh_state_now(self) -> None:
        """The same as the periodic sync, on the caller's thread."""
        self.state.sync()

    def _watched(self) -> list[Path]:
        config = self._config
        paths = [self._config_path] if self._config_path else []
        paths += [list_path(config, lst) for lst in effective_lists(config) if lst.enabled]
        folder = config.path(config.server.data_dir)
        # a reports list appearing for the first time must trigger a reload too
        paths += [folder / config.reports.block_list, folder / config.reports.allow_list]
        return paths

    def _remember_mtimes(self) -> None:
        self._mtimes = {p: _mtime(p) for p in self._watched()}

    async def _watch(self) -> None:
        if any(_mtime(p) != m for p, m in self._mtimes.items()):
            await self.reload()

    async def _list_updates(self) -> None:
        await asyncio.sleep(self.timings.first_list_update)
        while True:
            try:
                await self._update_lists()
            except Exception:
                log.exception("list update failed")
            await asyncio.sleep(self.timings.list_updates)

    async def _update_lists(self) -> None:
        """Download URL lists that are due, in a child process (the download code stays out
        of the resolver's memory); the file watcher then reloads what changed."""
        if self._config_path is None or not any(
            lst.enabled and lst.source.startswith(("http://", "https://"))
            for lst in self._config.lists
        ):
            return
        # a plain child process waited for in a thread: an asyncio subprocess transport
        # outlives a task cancelled at shutdown and complains once the loop is closed
        command = [*python_m("kidshield"), "lists", "update", "--due-only",
                   "--config", str(self._config_path)]
        code, err = await asyncio.get_running_loop().run_in_executor(None, _run, command)
        if code:
            log.warning("list update: %s", err.strip()[-1000:])

    def _metrics(self) -> dict[str, float]:
        return {"kidshield_reloads": float(self.reloads),
                "kidshield_reload_failures": float(self.reload_failures)}


def _built(part: T | None, name: str) -> T:
    if part is None:
        raise KidshieldError(f"the {name} is not running (start the application first)")
    return part


def _run(command: list[str]) -> tuple[int, str]:
    """A command's exit code and what it wrote to standard error."""
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    return proc.returncode, proc.stderr.decode(errors="replace")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
