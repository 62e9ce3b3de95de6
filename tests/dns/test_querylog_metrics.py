"""What the resolver records: query log rows (with the privacy options), retention, and the
Prometheus metrics."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.storage.schema import query_log
from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    NOON,
    TEEN,
    Served,
    ServeFactory,
    log_rows,
)


def _ask_mix(served: Served) -> None:
    served.query("fine.example", source=KID)
    served.query("fine.example", source=KID)  # the ready answer is logged too
    served.query("denied.example", source=KID, rdtype="AAAA")
    served.query("use-application-dns.net", source=ADULT)


def test_every_answer_is_logged_with_its_profile_reason_and_upstream(
    serve: ServeFactory,
) -> None:
    served = serve()
    _ask_mix(served)
    rows = log_rows(served)
    summary = [(r["client"], r["profile"], r["name"], r["qtype"], r["action"], r["reason"],
                r["rcode"]) for r in rows]
    assert summary == [
        (KID, "kid", "fine.example", "A", "allow", "allowed", 0),
        (KID, "kid", "denied.example", "AAAA", "block", "deny_list", 0),
        (ADULT, "default", "use-application-dns.net", "A", "block", "canary", 3),
    ]
    # the repeat (answered on the fast path) shares the first answer's row: same second,
    # same client, same outcome
    assert [r["count"] for r in rows] == [2, 1, 1]
    assert rows[0]["upstream"] == served.upstream.url
    assert rows[1]["rule"] == "denied.example"
    assert all(r["ts"] == NOON.timestamp() for r in rows)  # times from the service clock
    assert rows[0]["latency_ms"] > 0


def test_identical_answers_within_a_minute_share_a_row_written_when_the_minute_ends(
    serve: ServeFactory,
) -> None:
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    app = served.app

    def stored() -> list[tuple[float, int]]:
        # not final: the open minute stays open. An ended minute is folded between
        # answers, so the second pump finds it folded and its rows handed over.
        served.lt.call(app.dns.pump)
        served.lt.call(app.dns.pump)
        app.writer.flush()
        with app.db.engine.connect() as conn:
            return [(r.ts, r.count) for r in conn.execute(
                sa.select(query_log).order_by(query_log.c.ts))]

    served.query("fine.example", source=KID)  # the slow path
    assert stored() == []
    # Less than a second: the service takes a jump of the clock by more than that for a
    # clock step (NTP after boot) and drops the ready answers at its next pump, which then
    # races with the next query.
    clock.advance(timedelta(seconds=0.5))
    served.query("fine.example", source=KID)  # the fast path, same minute
    assert stored() == []
    clock.advance(timedelta(seconds=59.5))  # the next minute: the first row is complete
    assert stored() == [(NOON.timestamp(), 2)]
    clock.advance(timedelta(seconds=10))
    served.query("fine.example", source=KID)
    rows = log_rows(served)  # a final pump writes the open minute too
    assert [(r["ts"], r["count"]) for r in rows] == [(NOON.timestamp(), 2),
                                                     (NOON.timestamp() + 70, 1)]


def test_a_stalled_server_loop_is_no_clock_step(serve: ServeFactory) -> None:
    # On a loaded machine the loop can stall for a second; with an injected clock that is not
    # the wall clock stepping, so the ready answer stays and the repeat shares its row.
    served = serve(clock=FixedClock(NOON))
    served.query("fine.example", source=KID)
    served.lt.call(served.app.dns.pump)
    served.lt.call(time.sleep, 1.2)  # nothing runs on the loop meanwhile, no pump either
    served.lt.call(served.app.dns.pump)
    served.query("fine.example", source=KID)
    rows = log_rows(served)
    assert [(r["name"], r["count"], r["upstream"]) for r in rows] == [
        ("fine.example", 2, served.upstream.url)]


def test_an_answer_decided_again_within_the_minute_still_shares_its_row(
    serve: ServeFactory,
) -> None:
    # A reload (like a parent's change) drops the ready answers, so the repeat is decided
    # again on the slow path: it is still the same answer in the same minute.
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    served.query("denied.example", source=KID)
    served.query("denied.example", source=KID)  # the fast path
    assert served.reload()
    clock.advance(timedelta(seconds=20))
    served.query("denied.example", source=KID)  # decided again, same minute
    served.query("fine.example", source=KID)
    assert served.reload()
    served.query("fine.example", source=KID)  # from the answer cache: a row of its own
    rows = log_rows(served)
    assert [(r["name"], r["ts"], r["count"], r["upstream"]) for r in rows] == [
        ("denied.example", NOON.timestamp(), 3, None),
        ("fine.example", NOON.timestamp() + 20, 1, served.upstream.url),
        ("fine.example", NOON.timestamp() + 20, 1, "cache"),
    ]


def test_only_blocked_and_anonymize_clients_limit_what_is_kept(serve: ServeFactory) -> None:
    served = serve(logging_options={"only_blocked": True, "anonymize_clients": True})
    _ask_mix(served)
    rows = log_rows(served)
    assert [(r["client"], r["name"], r["action"]) for r in rows] == [
        (None, "denied.example", "block"),
        (None, "use-application-dns.net", "block"),
    ]


def test_acl_refusals_are_logged(serve: ServeFactory) -> None:
    served = serve(dns_options={"allow_networks": ["10.0.0.0/8"]})
    served.query("fine.example", source=TEEN)
    rows = log_rows(served)
    assert [(r["client"], r["reason"], r["rcode"]) for r in rows] == [(TEEN, "refused_acl", 5)]


def test_retention_deletes_rows_older_than_retention_days(serve: ServeFactory) -> None:
    clock = FixedClock(NOON)
    served = serve(logging_options={"retention_days": 2}, clock=clock)
    served.query("old.example", source=KID)
    served.pump()
    clock.advance(timedelta(days=1, hours=12))
    served.query("recent.example", source=KID)
    served.pump()
    writer = served.app.writer
    assert writer is not None
    assert writer.run_retention() == 0  # 36 h old: still kept
    clock.advance(timedelta(hours=13))  # the first row is now 2 days 1 hour old
    assert writer.run_retention() == 1
    assert [r["name"] for r in log_rows(served)] == ["recent.example"]


@pytest.fixture
def metrics_web(serve: ServeFactory, tmp_path: Path) -> Served:
    path = tmp_path / "lists.txt"
    path.write_text("casino.example\nbet.example\n@@||ok.bet.example^\n", encoding="utf-8")
    rest = HOUSEHOLD + f'\n[[lists]]\nname = "gambling"\nsource = "{path}"\n' \
        'category = "gambling"\nformat = "adblock"\n'
    return serve(rest=rest, web=True)


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        if metric.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in metric for k, v in labels.items()):
            return float(value)
    raise AssertionError(f"{name} {labels} not in /metrics")


def test_metrics_count_queries_by_reason_and_profile_and_show_cache_and_lists(
    metrics_web: Served,
) -> None:
    served = metrics_web
    for _ in range(3):
        served.query("denied.example", source=KID)
    served.query("casino.example", source=KID)
    served.query("fine.example", source=KID)  # cache miss
    served.query("fine.example", source=TEEN)  # cache hit (another profile)
    served.query("fine.example", source=ADULT)  # cache hit
    served.query("use-application-dns.net", source=ADULT)
    served.parent()
    with httpx.Client(base_url=metrics_web.url, timeout=3) as http:
        response = http.get("/metrics", headers=served.bearer_for("Alex", ["metrics"]))
    assert response.status_code == 200
    text = response.text
    q = "kidshield_dns_queries_total"
    assert _metric(text, q, profile="kid", action="block", reason="deny_list") == 3
    assert _metric(text, q, profile="kid", action="block", reason="category") == 1
    assert _metric(text, q, profile="kid", action="allow", reason="allowed") == 1
    assert _metric(text, q, profile="teen", action="allow", reason="allowed") == 1
    assert _metric(text, q, profile="default", action="block", reason="canary") == 1
    assert _metric(text, "kidshield_dns_cache_lookups_total", result="hit") == 2
    assert _metric(text, "kidshield_dns_cache_lookups_total", result="miss") == 1
    assert _metric(text, "kidshield_dns_cache_hit_ratio") == pytest.approx(2 / 3)
    assert _metric(text, "kidshield_list_rules", list="gambling") == 3
    assert _metric(text, "kidshield_dns_upstream_errors_total",
                   upstream=served.upstream.url) == 0
    assert _metric(text, "kidshield_dns_malformed_queries_total") == 0
    assert _metric(text, "kidshield_dns_latency_seconds_count") >= 5
    assert _metric(text, "kidshield_reloads_total") == 0
    assert _metric(text, "kidshield_reload_failures_total") == 0


def test_safe_search_rewrites_are_logged_as_rewrites_with_the_service(
    serve: ServeFactory,
) -> None:
    served = serve()
    served.query("www.bing.com", source=TEEN)
    served.query("www.youtube.com", source=TEEN)
    rows = log_rows(served)
    assert [(r["name"], r["action"], r["reason"], r["rule"], r["service"]) for r in rows] == [
        ("www.bing.com", "rewrite", "safe_search", "www.bing.com", None),
        ("www.youtube.com", "rewrite", "safe_search", "www.youtube.com", "youtube"),
    ]


def test_healthz_lists_what_the_service_listens_on(metrics_web: Served) -> None:
    served = metrics_web
    with httpx.Client(base_url=metrics_web.url, timeout=3) as http:
        health = http.get("/healthz").json()
    assert health["status"] == "ok"
    assert ["udp", "127.0.0.1", served.port] in health["listening"]
    assert ["tcp", "127.0.0.1", served.port] in health["listening"]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_upstreams_that_refuse_fail_or_stay_silent_are_told_apart(
    metrics_web: Served, proto: str,
) -> None:
    """Every upstream refusing, answering SERVFAIL, or not answering: the device gets SERVFAIL
    each time, and its extended error, the log row and the counts say which (they said
    "allowed" for all three, and only silence counted as an upstream error)."""
    import dns.rcode

    served = metrics_web
    resolver = served.app.dns.resolver
    assert resolver is not None
    resolver.upstreams.timeout = 0.3
    upstream = served.upstream
    answers = []
    for name, rcode, drop in (("refused.example", dns.rcode.REFUSED, False),
                              ("servfail.example", dns.rcode.SERVFAIL, False),
                              ("silent.example", None, True)):
        upstream.rcode, upstream.drop = rcode, drop
        answers.append(served.query(name, source=KID, edns=True, proto=proto))
    assert [a.rcode() for a in answers] == [dns.rcode.SERVFAIL] * 3
    assert [[(e.code, e.text) for e in a.extended_errors()] for a in answers] == [
        [(22, "kidshield: every upstream refused")], [],
        [(23, "kidshield: no upstream answered")]]
    rows = log_rows(served)
    assert [(r["name"], r["action"], r["reason"], r["rcode"], r["upstream"]) for r in rows] == [
        ("refused.example", "allow", "upstream_refused", 2, upstream.url),
        ("servfail.example", "allow", "upstream_servfail", 2, upstream.url),
        ("silent.example", "allow", "upstream_no_answer", 2, None)]
    served.parent()
    with httpx.Client(base_url=served.url, timeout=3) as http:
        text = http.get("/metrics", headers=served.bearer_for("Alex", ["metrics"])).text
    q = "kidshield_dns_queries_total"
    for reason in ("upstream_refused", "upstream_servfail", "upstream_no_answer"):
        assert _metric(text, q, profile="kid", action="allow", reason=reason) == 1
    failed = "kidshield_dns_upstream_failed_answers_total"
    assert _metric(text, failed, upstream=upstream.url, rcode="REFUSED") == 1
    assert _metric(text, failed, upstream=upstream.url, rcode="SERVFAIL") == 1
    assert _metric(text, "kidshield_dns_upstream_errors_total", upstream=upstream.url) == 1
