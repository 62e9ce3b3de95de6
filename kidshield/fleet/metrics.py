"""Prometheus metrics of the fleet exports, for alerts: an export that keeps failing leaves
the engines on the previous files, which stop being right at their ``valid_until``.

The composition root registers ``FleetCollector`` beside the resolver's metrics
(``kidshield.dns.metrics``), so they are on every ``/metrics`` the resolver's are on (the web
listener and ``[metrics] listen``, also with ``--no-web``). Only exports the configuration
asks for have samples; a timestamp nobody knows yet (no success so far, no schedule edge
ahead) has none, rather than a zero an alert would read as long ago.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from kidshield.fleet.service import FleetService


class FleetCollector:
    def __init__(self, fleet_of: Callable[[], FleetService | None]) -> None:
        self.fleet_of = fleet_of

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        fleet = self.fleet_of()
        if fleet is None:
            return
        exports = fleet.configured_exports()
        failures = CounterMetricFamily(
            "kidshield_fleet_export_failures", "Exports of the policy for other resolvers "
            "that failed (the engines keep the previous files), by export", labels=["export"])
        in_a_row = GaugeMetricFamily(
            "kidshield_fleet_export_consecutive_failures",
            "Exports that failed since the last one that succeeded, by export",
            labels=["export"])
        success = GaugeMetricFamily(
            "kidshield_fleet_export_last_success_timestamp_seconds",
            "When the last export that succeeded was written (Unix time), by export",
            labels=["export"])
        until = GaugeMetricFamily(
            "kidshield_fleet_export_valid_until_timestamp_seconds",
            "When the policy of the last export that succeeded stops being right (Unix "
            "time: the next schedule edge or birthday; no sample when none is ahead)",
            labels=["export"])
        for name, health in exports.items():
            failures.add_metric([name], health.failures)
            in_a_row.add_metric([name], health.in_a_row)
            if health.last_success is not None:
                success.add_metric([name], health.last_success.timestamp())
            if health.valid_until is not None:
                until.add_metric([name], health.valid_until.timestamp())
        yield from (failures, in_a_row, success, until)
