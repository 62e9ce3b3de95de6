"""From answers to query-log rows and metrics, off the answer path.

A fast-path answer only adds one to a counter on its ready answer; the first answer since the
log last looked also lists the entry. The log pump collects those lists (with the time it saw
them) and the slow path's items for the current minute. When the minute ends, a flush turns
them into log rows and metric counts in small steps between answers, and hands the rows to the
log writer's thread. Identical answers to one device within a minute share a row with a count
and the time of the first, also when the answer was decided again in between (a reload, a
parent's change or a clock step drops ready answers, and the next one gets a new template).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kidshield.policy.reason import Action, Reason
from kidshield.storage.querylog import QueryRow

if TYPE_CHECKING:
    from kidshield.dns.metrics import DnsMetrics
    from kidshield.dns.ready import LogItem, LogTemplate, ReadyAnswer

LOG_WINDOW = 60  # seconds: identical answers to one device within a minute share a row
# Slow-path answers held for the log before they are folded into rows, whatever the minute:
# each holds its log template (about 400 bytes with its name, tracemalloc), and a minute of
# distinct names (a scan, an ISP's clients) would otherwise grow the process without bound.
# They are folded early when this many are held: identical answers to a device may then take
# two rows. Fast-path answers stay counted on their ready answers for the whole minute (those
# are bounded by ``[dns] cache_mb``); folding them early too would write a row per hot name
# every few hundred milliseconds.
WINDOW_MAX = 4096
_STEP = 256  # entries or items folded per step

Group = dict[tuple[str | None, "LogTemplate"], list[float]]


@dataclass(frozen=True, slots=True)
class LogSettings:
    anonymize_clients: bool
    only_blocked: bool


@dataclass(slots=True)
class Window:
    """What was answered in one minute: ready entries that answered (listed with the pump
    time that first saw them) and the slow path's items."""

    start: int
    touched: list[tuple[float, list[ReadyAnswer]]] = field(default_factory=list)
    items: list[LogItem] = field(default_factory=list)

    def add(self, now: float, touched: list[ReadyAnswer], items: list[LogItem]) -> bool:
        """Take what the pump collected; True when the items should be folded now."""
        if touched:
            self.touched.append((now, touched))
        self.items += items
        return len(self.items) >= WINDOW_MAX

    def take_items(self) -> Window:
        """The slow-path items so far, as a window of their own (the fast-path counts stay)."""
        taken = Window(self.start, items=self.items)
        self.items = []
        return taken


class RowGrouper:
    def __init__(self, settings: LogSettings, metrics: DnsMetrics | None) -> None:
        self.settings = settings
        self.metrics = metrics
        # Templates are compared by identity on the answer path; rows by what they show. One
        # template per value in a window, found once per template (not once per answer).
        self._canonical: dict[LogTemplate, LogTemplate] = {}
        self._by_value: dict[tuple[object, ...], LogTemplate] = {}

    def flush_steps(self, window: Window, out: list[Group]) -> Iterator[None]:
        """Fold ``window`` into rows (appended to ``out`` at the end), resetting the entries'
        counters and counting every answer into the metrics; yields between small steps."""
        groups: Group = {}
        per_labels: Counter[tuple[str, Action, Reason]] = Counter()
        anonymize = self.settings.anonymize_clients
        n = 0
        for ts, entries in window.touched:
            for entry in entries:
                count, per_client, t = entry.count, entry.per_client, entry.template
                if not count:
                    continue  # already taken by an earlier flush
                entry.count = 0
                if anonymize or not per_client:
                    self._add(groups, per_labels, ts, None, t, 0.0, count)
                else:
                    entry.per_client = None
                    for client, c in per_client.items():
                        self._add(groups, per_labels, ts, client, t, 0.0, c)
                n += 1
                if n % _STEP == 0:
                    yield
        for ts, client, t, latency in window.items:
            if latency and self.metrics is not None:
                self.metrics.latency.observe(latency / 1000)
            self._add(groups, per_labels, ts, client, t, latency, 1)
            n += 1
            if n % _STEP == 0:
                yield
        if self.metrics is not None:
            for labels, count in per_labels.items():
                self.metrics.queries.labels(*labels).inc(count)
        if groups:
            out.append(groups)
        self._canonical.clear()
        self._by_value.clear()

    def _add(self, groups: Group, per_labels: Counter[tuple[str, Action, Reason]], ts: float,
             client: str | None, t: LogTemplate, latency: float, count: int) -> None:
        per_labels[(t.profile, t.action, t.reason)] += count
        if self.settings.only_blocked and t.action is Action.ALLOW:
            return
        key = (None if self.settings.anonymize_clients else client, self._same_row(t))
        group = groups.get(key)
        if group is None:
            groups[key] = [ts, latency, float(count)]
        else:
            group[0] = min(group[0], ts)
            group[1] += latency
            group[2] += count


    def _same_row(self, t: LogTemplate) -> LogTemplate:
        """The window's template with the same values as ``t`` (the first one seen)."""
        found = self._canonical.get(t)
        if found is None:
            value = (t.profile, t.name, t.qtype, t.action, t.reason, t.rule, t.category,
                     t.service, t.upstream, t.rcode)
            found = self._canonical[t] = self._by_value.setdefault(value, t)
        return found


def rows_of(ended: list[Group]) -> list[QueryRow]:
    """Log rows from flushed windows (built in the log writer's thread)."""
    rows = [
        (g[0], who, t.profile, t.name, t.qtype, t.action.value, t.reason.value, t.rule,
         t.category, t.service, t.upstream, round(g[1] / g[2], 3), int(t.rcode), int(g[2]))
        for groups in ended
        for (who, t), g in groups.items()
    ]
    rows.sort(key=lambda row: row[0])
    return rows
