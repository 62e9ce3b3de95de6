"""From answers to query-log rows and metrics, off the answer path.

The listeners only note who got which answer (two list appends on the fast path). The log
pump gathers those notes into one bucket per second; a closed second is folded into log rows
and metric counts in the log writer's thread, where counting repeats costs the event loop
nothing. Identical answers to one device within a second share a row with a count.
"""

from __future__ import annotations

from collections import Counter
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


def fold(buckets: list[SecondBucket], settings: LogSettings,
         metrics: DnsMetrics | None) -> list[QueryRow]:
    """Log rows for closed seconds; counts every answer into ``metrics`` on the way."""
    rows: list[QueryRow] = []
    per_labels: Counter[tuple[str, str, str]] = Counter()
    for bucket in buckets:
        # second -> (client or None, template) -> [first time, summed latency, count]
        groups: dict[tuple[str | None, LogTemplate], list[float]] = {}
        counted = Counter(zip(bucket.clients, bucket.templates, strict=True))
        for (client, t), count in counted.items():
            _add(groups, per_labels, settings, bucket.ts, client, t, 0.0, count)
        for ts, client, t, latency in bucket.items:
            if latency and metrics is not None:
                metrics.latency.observe(latency / 1000)
            _add(groups, per_labels, settings, ts, client, t, latency, 1)
        rows += [
            (g[0], who, t.profile, t.name, t.qtype, t.action, t.reason, t.rule, t.category,
             t.service, t.upstream, round(g[1] / g[2], 3), t.rcode, int(g[2]))
            for (who, t), g in groups.items()
        ]
    if metrics is not None:
        for labels, count in per_labels.items():
            metrics.queries.labels(*labels).inc(count)
    return rows


def _add(groups: dict[tuple[str | None, LogTemplate], list[float]],
         per_labels: Counter[tuple[str, str, str]], settings: LogSettings, ts: float,
         client: str, t: LogTemplate, latency: float, count: int) -> None:
    per_labels[(t.profile, t.action, t.reason)] += count
    if settings.only_blocked and t.action == "allow":
        return
    key = (None if settings.anonymize_clients else client, t)
    group = groups.get(key)
    if group is None:
        groups[key] = [ts, latency, float(count)]
    else:
        group[0] = min(group[0], ts)
        group[1] += latency
        group[2] += count
