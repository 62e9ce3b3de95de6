"""The instance's metrics with its workers' added in: counters and histograms summed,
descriptions of the same thing (list rules) taken once, the hit ratio computed over all."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric

from kidshield.dns.workers import merge


def family(name: str, kind: str, *samples: tuple[str, dict[str, str], float]) -> Metric:
    metric = Metric(name, "help", kind)
    for sample in samples:
        metric.add_sample(*sample)
    return metric


def test_worker_counts_are_added_and_the_ratio_is_over_all_processes() -> None:
    mine = [
        family("kidshield_dns_queries", "counter",
               ("kidshield_dns_queries_total", {"profile": "kid", "reason": "deny_list"}, 3.0)),
        family("kidshield_dns_cache_lookups", "counter",
               ("kidshield_dns_cache_lookups_total", {"result": "hit"}, 1.0),
               ("kidshield_dns_cache_lookups_total", {"result": "miss"}, 1.0)),
        family("kidshield_dns_cache_hit_ratio", "gauge",
               ("kidshield_dns_cache_hit_ratio", {}, 0.5)),
        family("kidshield_list_rules", "gauge", ("kidshield_list_rules", {"list": "a"}, 10.0)),
    ]
    worker = [
        ("kidshield_dns_queries", "counter", "help", [
            ("kidshield_dns_queries_total", {"profile": "kid", "reason": "deny_list"}, 4.0),
            ("kidshield_dns_queries_total", {"profile": "teen", "reason": "allowed"}, 2.0)]),
        ("kidshield_dns_cache_lookups", "counter", "help", [
            ("kidshield_dns_cache_lookups_total", {"result": "hit"}, 7.0),
            ("kidshield_dns_cache_lookups_total", {"result": "miss"}, 1.0)]),
        ("kidshield_list_rules", "gauge", "help", [("kidshield_list_rules", {"list": "a"}, 10.0)]),
    ]
    merged = {f.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples}
              for f in merge(mine, [worker])}
    queries = merged["kidshield_dns_queries"]
    assert queries[("kidshield_dns_queries_total",
                    (("profile", "kid"), ("reason", "deny_list")))] == 7.0
    assert queries[("kidshield_dns_queries_total",
                    (("profile", "teen"), ("reason", "allowed")))] == 2.0
    assert merged["kidshield_dns_cache_hit_ratio"][("kidshield_dns_cache_hit_ratio", ())] == 0.8
    assert merged["kidshield_list_rules"][("kidshield_list_rules", (("list", "a"),))] == 10.0
