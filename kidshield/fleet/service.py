"""The fleet side of ``kidshield serve``: keep the export folders current; with
``[fleet] listen``, serve the RPZ zones over AXFR/IXFR and notify the engines when a zone
changes; with ``[fleet] unbound_out``, keep ``kidshield export unbound`` there (Unbound's
module re-maps the file by itself).

Each export runs in a child process (``kidshield export rpz``/``unbound``, like list
downloads), so the resolver never holds a million names or the parse's temporary memory. It
runs at start, after every reload (configuration or lists changed) and when the policy's
``valid_until`` passes (a bedtime starts or ends); only zones whose rules changed get a new
serial and a NOTIFY. An export that failed (a full disk, a folder not writable yet) is
tried again by itself, each export on its own (``_tried``, ``_retry``): after
``retry_first`` seconds, doubling to RETRY_MAX, each failure logged with the wait before the
next try and a success after failures logged too; a later export that succeeds (a reload, an
edge) or a configuration that no longer asks for the export cancels the pending try. The RPZ
zones thus come back without a reload, also when the export failed at start.

Each export keeps its record (``ExportHealth``: failures, failures in a row, the last success
and its ``valid_until``) for ``/metrics`` (``kidshield.fleet.metrics``): an operator alerts on
metrics, not on logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from kidshield.clock import Clock
from kidshield.config import Config, parse_hostport
from kidshield.dns.server import spawn
from kidshield.errors import KidshieldError
from kidshield.fleet.export import MANIFEST
from kidshield.fleet.unbound_export import POLICY_FILE
from kidshield.fleet.unbound_module import PolicyError, PolicyFile
from kidshield.fleet.xfr import TransferServer, ZoneSet, notify
from kidshield.process import python_m

log = logging.getLogger("kidshield.fleet")

RETRY_MAX = 300.0  # longest wait before a failed export is tried again


@dataclass
class ExportHealth:
    """How one export (``unbound`` or ``rpz``) has fared since the start."""

    failures: int = 0
    in_a_row: int = 0  # failures since the last success
    last_success: datetime | None = None
    # of the last export that succeeded: the engines' files are right until then (None: no
    # schedule edge or birthday ahead, right until the configuration changes)
    valid_until: datetime | None = None

    def failed(self) -> None:
        self.failures += 1
        self.in_a_row += 1

    def succeeded(self, at: datetime, valid_until: datetime | None) -> None:
        self.in_a_row = 0
        self.last_success = at
        self.valid_until = valid_until


def fleet_folder(config: Config) -> Path:
    out = config.fleet.out
    return config.path(out) if out else config.path(config.server.data_dir) / "fleet"


EXPORTS: dict[str, str] = {  # by name (the label on /metrics): how the log calls it
    "unbound": "the export for Unbound's module",
    "rpz": "the RPZ export",
}


class FleetService:
    def __init__(self, config: Config, config_path: Path, clock: Clock,
                 max_wait: float = 30.0, retry_first: float = 5.0) -> None:
        self.config = config
        self.config_path = config_path
        self.clock = clock
        self.max_wait = max_wait  # seconds between looks at the clock while waiting for an edge
        self.zones = ZoneSet()
        self.server: TransferServer | None = None
        self.bound: list[tuple[str, str, int]] = []
        self.exports = 0  # exports that succeeded, of either kind
        self.retry_first = retry_first
        self.health = {name: ExportHealth() for name in EXPORTS}
        self._retries: dict[str, asyncio.Task[None]] = {}  # by export: its next try
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def valid_until(self) -> datetime | None:
        """The earliest ``valid_until`` of the configured exports' last successes: the next
        edge at which the policy they were written with stops being right (None: none
        ahead, or none succeeded yet)."""
        edges = [h.valid_until for h in self.configured_exports().values()
                 if h.valid_until is not None]
        return min(edges) if edges else None

    def configured_exports(self) -> dict[str, ExportHealth]:
        """The exports the configuration asks for, by name, with their record."""
        wanted = {"unbound": self.config.fleet.unbound_out, "rpz": self.config.fleet.listen}
        return {name: self.health[name] for name in EXPORTS if wanted[name]}

    async def start(self) -> None:
        await self.regenerate()
        listen = self.config.fleet.listen
        if listen is not None:
            host, port = parse_hostport(listen, 53)
            self.server = TransferServer(self.zones, self.config.fleet.allow_transfer)
            port = await self.server.start(host, port)
            self.bound = [("axfr", host, port)]
        self._task = asyncio.ensure_future(self._edges())

    async def stop(self) -> None:
        for name in EXPORTS:
            self._cancel_retry(name)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.server is not None:
            self.server.close()
            self.server = None

    def configure(self, config: Config) -> None:
        if (config.fleet.listen, config.fleet.allow_transfer) != (
                self.config.fleet.listen, self.config.fleet.allow_transfer):
            log.warning("[fleet] listen or allow_transfer changed: restart kidshield to apply")
        self.config = config

    async def regenerate(self) -> list[str]:
        """Export the policy as it is now and publish what changed; the origins of the RPZ
        zones that changed (each was notified). A failed export keeps the previous files and
        is tried again by itself (``_tried``)."""
        changed: list[str] = []
        async with self._lock:
            now = self.clock.now()
            configured = self.configured_exports()
            for name in EXPORTS:
                if name not in configured:
                    self._tried(name, None)
                    continue
                until, zones = await self._attempt(name, now)
                changed += zones
                self._tried(name, until)
        return changed

    def _tried(self, name: str, until: datetime | Literal[False] | None) -> None:
        """After export ``name`` (``until``: its valid_until, False when it failed) or when
        none was due (the configuration does not ask for it: None): on a failure, the next
        try is scheduled, each failure waiting twice as long up to RETRY_MAX; a later export
        that succeeds (a reload, an edge, a try) or one no longer due cancels it."""
        health = self.health[name]
        what = EXPORTS[name]
        if until is not False:
            if name not in self.configured_exports():
                health.in_a_row = 0  # none due: nothing is failing any more
            else:
                if health.in_a_row:
                    log.info("%s succeeded after %d failed tries", what, health.in_a_row)
                health.succeeded(self.clock.now(), until)
                self.exports += 1
            self._cancel_retry(name)
            return
        health.failed()
        wait = min(RETRY_MAX, self.retry_first * 2.0 ** min(health.in_a_row - 1, 16))
        log.warning("%s failed (%d in a row); trying again in %g s", what, health.in_a_row,
                    wait)
        self._cancel_retry(name)
        self._retries[name] = asyncio.ensure_future(self._retry(name, wait))

    def _cancel_retry(self, name: str) -> None:
        retry = self._retries.pop(name, None)
        if retry is not None and retry is not asyncio.current_task():
            retry.cancel()

    async def _retry(self, name: str, wait: float) -> None:
        """Export ``name`` again, ``wait`` seconds after one failed (the other export, which
        has its own record and tries, is not redone)."""
        await asyncio.sleep(wait)
        async with self._lock:
            if name not in self.configured_exports():  # a reload took it out meanwhile
                self._tried(name, None)
                return
            until, _changed = await self._attempt(name, self.clock.now())
            self._tried(name, until)

    async def _attempt(self, name: str, now: datetime
                       ) -> tuple[datetime | Literal[False] | None, list[str]]:
        """One export ``name`` of the policy at ``now``: its valid_until (False when it failed,
        logged) and the RPZ zones it changed (published and notified). A try that raises is a
        failed one: the caller schedules the next."""
        try:
            if name == "rpz":
                return await self._export_rpz(now)
            return await self._export_unbound(now), []
        except Exception:
            log.exception("%s broke", EXPORTS[name])
            return False, []

    async def _export_rpz(self, now: datetime
                          ) -> tuple[datetime | Literal[False] | None, list[str]]:
        """``kidshield export rpz`` into the fleet folder, its zones published; its
        valid_until (False when it failed: the previous zones are still served) and the
        origins of the zones that changed, each notified."""
        folder = fleet_folder(self.config)
        fleet = self.config.fleet
        if not await self._run_export(
                "rpz", folder, now, [("--primary", fleet.primary or fleet.listen),
                                     ("--block-host", fleet.block_host)],
                "the RPZ export failed, still serving the previous zones"):
            return False, []
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            paths = [folder / z["file"] for z in manifest["zones"]]
            loop = asyncio.get_running_loop()
            changed = await loop.run_in_executor(None, self.zones.publish, paths)
        except (OSError, ValueError, KeyError, KidshieldError) as exc:
            log.error("cannot read the RPZ export in %s, still serving the previous "
                      "zones: %s", folder, exc)
            return False, []
        until = manifest.get("valid_until")
        valid_until = datetime.fromisoformat(until) if until else None
        if changed:
            log.info("RPZ zones changed: %s; valid until %s", ", ".join(changed),
                     valid_until or "the configuration changes")
            spawn(self._notify(changed))  # engines that are down must not hold anything up
        return valid_until, changed

    async def _export_unbound(self, now: datetime) -> datetime | Literal[False] | None:
        """``kidshield export unbound`` into ``[fleet] unbound_out``; its valid_until, or
        False when it failed (logged; the previous files stay)."""
        fleet = self.config.fleet
        assert fleet.unbound_out is not None
        folder = self.config.path(fleet.unbound_out)
        if not await self._run_export(
                "unbound", folder, now, [],
                "the export for Unbound's module failed, the previous one stays"):
            return False
        try:
            policy = PolicyFile(str(folder / POLICY_FILE))
        except PolicyError as exc:
            log.error("cannot read the export for Unbound's module: %s", exc)
            return False
        try:
            until = policy.header["valid_until"]
        finally:
            policy.close()
        log.info("exported the policy for Unbound's module to %s; valid until %s", folder,
                 until or "the configuration changes")
        return datetime.fromisoformat(until) if until else None

    async def _run_export(self, command: str, folder: Path, now: datetime,
                          options: list[tuple[str, str | None]], failed: str) -> bool:
        """``kidshield export COMMAND`` of the policy at ``now`` into ``folder``, in a child
        process (with the block page's addresses and ``options`` that have a value); False,
        logged after ``failed``, when it did not succeed."""
        fleet = self.config.fleet
        args = [*python_m("kidshield"), "export", command,
                "--config", str(self.config_path), "--out", str(folder),
                "--at", now.isoformat()]
        for option, value in [("--block-ipv4", fleet.block_page_ipv4),
                              ("--block-ipv6", fleet.block_page_ipv6), *options]:
            if value:
                args += [option, value]
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _out, err = await proc.communicate()
        if proc.returncode:
            log.error("%s: %s", failed, err.decode(errors="replace").strip()[-2000:])
            return False
        return True

    async def _notify(self, origins: list[str]) -> None:
        targets = [parse_hostport(t, 53) for t in self.config.fleet.notify]
        if targets:
            heads = [self.zones.zones[o].head for o in origins if o in self.zones.zones]
            await notify(targets, heads)

    def _next_edge(self) -> datetime | None:
        """The earliest ``valid_until`` of the configured exports whose last try succeeded
        (one that failed is redone by its own tries, not at every look at the clock)."""
        edges = [h.valid_until for h in self.configured_exports().values()
                 if h.valid_until is not None and not h.in_a_row]
        return min(edges) if edges else None

    async def _edges(self) -> None:
        """Export again when the clock passes ``valid_until`` (a schedule edge, a birthday)."""
        while True:
            until = self._next_edge()
            wait = self.max_wait
            if until is not None:
                remaining = (until - self.clock.now()).total_seconds()
                if remaining > 0:
                    wait = min(wait, remaining + 0.1)
            await asyncio.sleep(wait)
            until = self._next_edge()
            if until is not None and self.clock.now() >= until:
                try:
                    await self.regenerate()
                except Exception:
                    log.exception("exporting the policy at a schedule edge failed")
