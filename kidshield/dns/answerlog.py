"""From answers to query-log rows and metrics, off the answer path.

The listeners only note who got which answer (two list appends on the fast path). The log
pump gathers those notes into one bucket per second; closed seconds are folded into open log
rows and metric counts in small steps between answers. Identical answers to one device within
a minute share a row with a count and the time of the first; a minute's rows go to the log
writer's thread once the minute has ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kidshield.storage.querylog import QueryRow

if TYPE_CHECKING:
    from kidshield.dns.metrics import DnsMetrics
    from kidshield.dns.resolver import LogItem, LogTemplate


@dataclass(slots=True)
class SecondBucket:
    """What was answered during one second: fast-path answers as parallel lists of client
    and template (timed by the bucket), slow-path items with their own time and latency."""

    ts: float
    clients: list[str] = field(default_factory=list)
    templates: list[LogTemplate] = field(default_factory=list)
    items: list[LogItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LogSettings:
    anonymize_clients: bool
    only_blocked: bool


LOG_WINDOW = 60  # seconds: identical answers to one device within a minute share a row
_SLICE = 256  # answers counted, or rows grouped, per step

Group = dict[tuple[str | None, "LogTemplate"], list[float]]


class RowGrouper:
    """Open log rows, one per (device, answer) and minute, with a count.

    Folding runs on the event loop in small steps (``fold_steps`` yields between them),
    interleaved with answering: a helper thread doing it would take the interpreter and,
    woken on the answering thread's core, the CPU from the answers for milliseconds."""

    def __init__(self, settings: LogSettings, metrics: DnsMetrics | None) -> None:
        self.settings = settings
        self.metrics = metrics
        self._open: dict[int, Group] = {}  # window start -> its rows

    def fold_steps(self, buckets: list[SecondBucket]) -> Iterator[None]:
        """Add closed seconds to the open rows, counting every answer into the metrics;
        yields after each small step."""
        per_labels: Counter[tuple[str, str, str]] = Counter()
        for bucket in buckets:
            counted: Counter[tuple[str, LogTemplate]] = Counter()
            for i in range(0, len(bucket.clients), _SLICE * 4):
                counted.update(zip(bucket.clients[i : i + _SLICE * 4],
                                   bucket.templates[i : i + _SLICE * 4], strict=True))
                yield
            for n, ((client, t), count) in enumerate(counted.items(), 1):
                self._add(per_labels, bucket.ts, client, t, 0.0, count)
                if n % _SLICE == 0:
                    yield
            for ts, client, t, latency in bucket.items:
                if latency and self.metrics is not None:
                    self.metrics.latency.observe(latency / 1000)
                self._add(per_labels, ts, client, t, latency, 1)
        if self.metrics is not None:
            for labels, count in per_labels.items():
                self.metrics.queries.labels(*labels).inc(count)

    def take_ended(self, now: float, final: bool = False) -> list[Group]:
        """The open rows of minutes that have ended by ``now`` (all when ``final``)."""
        return [self._open.pop(w) for w in sorted(self._open)
                if final or w + LOG_WINDOW <= now]

    def _add(self, per_labels: Counter[tuple[str, str, str]], ts: float, client: str,
             t: LogTemplate, latency: float, count: int) -> None:
        per_labels[(t.profile, t.action, t.reason)] += count
        if self.settings.only_blocked and t.action == "allow":
            return
        window = int(ts) // LOG_WINDOW * LOG_WINDOW
        groups = self._open.get(window)
        if groups is None:
            groups = self._open[window] = {}
        key = (None if self.settings.anonymize_clients else client, t)
        group = groups.get(key)
        if group is None:
            groups[key] = [ts, latency, float(count)]
        else:
            group[0] = min(group[0], ts)
            group[1] += latency
            group[2] += count


def rows_of(ended: list[Group]) -> list[QueryRow]:
    """Log rows from ``RowGrouper.take_ended`` (built in the log writer's thread)."""
    rows = [
        (g[0], who, t.profile, t.name, t.qtype, t.action, t.reason, t.rule, t.category,
         t.service, t.upstream, round(g[1] / g[2], 3), t.rcode, int(g[2]))
        for groups in ended
        for (who, t), g in groups.items()
    ]
    rows.sort(key=lambda row: row[0])
    return rows
