"""Prometheus metrics for the resolver. Counting happens off the answer path: answers are
counted when the log folds a closed minute (``dns/answerlog.py``), so the fast path never
touches a metric object. ``DnsService.settle`` brings them up to date.

Names follow Prometheus' conventions (``promtool check metrics``): base units (seconds),
running totals as counters (``_total``), and the standard process, Python and build-info
metrics beside kidshield's own.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from kidshield import __version__
from kidshield.dns import proxyv2
from kidshield.dns.ratelimit import Verdict
from kidshield.dns.resolver import Resolver
from kidshield.dns.udpexchange import MISMATCHES
from kidshield.dns.workers import Snapshot, merge

# Totals the service keeps beside the resolver (log writer, reloads): name -> help text
TOTALS = {
    "kidshield_querylog_rows_written": "Query-log rows written to the database",
    "kidshield_querylog_rows_dropped": ("Query-log rows dropped because the writer fell behind "
                                        "or the database refused them"),
    "kidshield_reloads": "Successful reloads of the configuration and lists",
    "kidshield_reload_failures": "Reloads refused (the previous configuration stayed in use)",
}


class DnsMetrics:
    def __init__(self, resolver_of: Callable[[], Resolver | None],
                 extra: Callable[[], dict[str, float]] | None = None) -> None:
        self.registry = CollectorRegistry()
        # the workers' metrics (serve --workers), added into this process's by view()
        self.remote: Callable[[], list[Snapshot]] | None = None
        self.queries = Counter(
            "kidshield_dns_queries", "DNS queries answered, by profile, action and reason",
            ["profile", "action", "reason"], registry=self.registry,
        )
        self.latency = Histogram(
            "kidshield_dns_latency_seconds", "Time to answer queries that missed the fast path",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.registry.register(_StateCollector(resolver_of, extra))
        # the process (CPU, memory, open files), the interpreter and its garbage collector
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)

    def add(self, collector: Collector) -> None:
        """Another service's metrics on the same ``/metrics`` (the composition root adds
        them: the resolver knows no other service)."""
        self.registry.register(collector)

    def view(self) -> CollectorRegistry | _Merged:
        """What /metrics shows: this process's metrics, plus its workers' if it has any."""
        if self.remote is None:
            return self.registry
        return _Merged(self.registry, self.remote)


class _Merged:
    def __init__(self, registry: CollectorRegistry,
                 remote: Callable[[], list[Snapshot]]) -> None:
        self.registry = registry
        self.remote = remote

    def collect(self) -> Iterable[Metric]:
        return merge(self.registry.collect(), self.remote())


class _StateCollector(Collector):
    def __init__(self, resolver_of: Callable[[], Resolver | None],
                 extra: Callable[[], dict[str, float]] | None) -> None:
        self.resolver_of = resolver_of
        self.extra = extra

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        yield InfoMetricFamily("kidshield_build", "The running kidshield",
                               value={"version": __version__,
                                      "python": platform.python_version()})
        extra = self.extra() if self.extra else {}
        for name, help_text in TOTALS.items():
            yield CounterMetricFamily(name, help_text, value=extra.get(name, 0.0))
        resolver = self.resolver_of()
        if resolver is None:
            return
        cache = resolver.cache
        yield GaugeMetricFamily("kidshield_dns_cache_entries", "Answers in the cache",
                                value=len(cache))
        yield GaugeMetricFamily("kidshield_dns_cache_bytes",
                                "Memory the cached answers hold ([dns] cache_mb bounds it)",
                                value=cache.bytes)
        hits = CounterMetricFamily("kidshield_dns_cache_lookups", "Answer cache lookups",
                                   labels=["result"])
        hits.add_metric(["hit"], cache.hits)
        hits.add_metric(["miss"], cache.misses)
        hits.add_metric(["stale"], cache.stale_served)
        yield hits
        total = cache.hits + cache.misses
        yield GaugeMetricFamily("kidshield_dns_cache_hit_ratio", "Cache hits / lookups",
                                value=cache.hits / total if total else 0.0)
        yield GaugeMetricFamily("kidshield_dns_ready_answers", "Answers on the fast path",
                                value=resolver.ready_count())
        errors = CounterMetricFamily("kidshield_dns_upstream_errors",
                                     "Failed upstream attempts", labels=["upstream"])
        rtt = GaugeMetricFamily("kidshield_dns_upstream_rtt_seconds",
                                "Smoothed upstream round-trip time", labels=["upstream"])
        declined = CounterMetricFamily(
            "kidshield_dns_upstream_failed_answers", "Answers from an upstream that were no "
            "answer, by RCODE (SERVFAIL: it could not; REFUSED: it would not); the next "
            "upstream was asked", labels=["upstream", "rcode"])
        mismatched = CounterMetricFamily(
            "kidshield_dns_upstream_mismatched", "Datagrams from a UDP upstream's address and "
            "port ignored as no answer to a question out (RFC 5452: late, or forged)",
            labels=["upstream", "reason"])
        for upstream in resolver.upstreams.upstreams:
            errors.add_metric([upstream.label], upstream.health.errors)
            rtt.add_metric([upstream.label], upstream.health.rtt_ms / 1000)
            declined.add_metric([upstream.label, "SERVFAIL"], upstream.health.servfail)
            declined.add_metric([upstream.label, "REFUSED"], upstream.health.refused)
            if upstream.scheme == "udp":
                ignored = upstream.ignored()
                for reason in MISMATCHES:
                    mismatched.add_metric([upstream.label, reason], ignored.get(reason, 0))
        yield errors
        yield rtt
        yield declined
        yield mismatched
        rules = GaugeMetricFamily("kidshield_list_rules", "Rules loaded per list",
                                  labels=["list"])
        for name, report in resolver.runtime.loaded.reports.items():
            rules.add_metric([name], report.rules + report.allow_rules)
        yield rules
        stale = resolver.runtime.loaded.stale
        rejected = GaugeMetricFamily(
            "kidshield_list_rejected", "1: the list's file failed the checks (empty, mostly "
            "invalid, a web page) and its last good copy is in use", labels=["list"])
        for name in resolver.runtime.loaded.reports:
            rejected.add_metric([name], 1.0 if name in stale else 0.0)
        yield rejected
        limited = CounterMetricFamily("kidshield_dns_rate_limited",
                                      "Answers held back by the rate limiter",
                                      labels=["verdict"])
        for verdict in (Verdict.SLIP, Verdict.DROP, Verdict.WAIT):
            limited.add_metric([verdict.value], resolver.rate_limited.get(verdict, 0))
        yield limited
        yield CounterMetricFamily("kidshield_dns_malformed_queries",
                                  "Queries that could not be parsed", value=resolver.malformed)
        proxy = CounterMetricFamily(
            "kidshield_dns_proxy_headers", "PROXY v2 headers from [dns] proxy_protocol_from "
            "peers: read (accepted), or why the datagram or connection was dropped",
            labels=["result"])
        proxy.add_metric(["accepted"], resolver.proxy.accepted)
        for reason in proxyv2.REASONS:
            proxy.add_metric([reason], resolver.proxy.rejected.get(reason, 0))
        yield proxy
