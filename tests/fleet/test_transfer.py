"""``kidshield serve`` with ``[fleet] listen``: the zones over AXFR/IXFR to a real Unbound that
pulls them, a NOTIFY when a schedule edge changes a zone, and Unbound answering the new policy
(issue 17 item 1)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import dns.query
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from kidshield.app import Timings
from kidshield.clock import FixedClock
from kidshield.dns.server import BindError
from tests.e2e.harness import Served, start
from tests.fleet.conftest import (
    FakeAuthority,
    Unbound,
    free_port,
    outcome,
    start_unbound,
    stop,
    unbound_config,
)
from tests.fleet.test_unbound import BLOCK_V4, LEO, MIA, NOON, SCHOOL_NIGHT, write_setup

TIMINGS = Timings(pump=0.02, state=0.5, watch=3600.0, first_list_update=3600.0, fleet=0.2)


def fleet_config(folder: Path, transfer_port: int, notify_port: int) -> Path:
    config = write_setup(folder)
    text = config.read_text().replace('listen = ["127.0.0.1:5353"]', 'listen = ["127.0.0.1:0"]')
    config.write_text(text + f"""
[fleet]
listen = "127.0.0.1:{transfer_port}"
allow_transfer = ["127.0.0.1/32"]
notify = ["127.0.0.1:{notify_port}"]
out = "fleet"
""")
    return config


@pytest.fixture
def served_fleet(tmp_path: Path) -> Iterator[tuple[Served, FixedClock, int, int]]:
    clock = FixedClock(datetime.fromisoformat(NOON))
    with ExitStack() as stack:
        for attempt in range(4):
            # the free port can be taken between choosing and binding it by another process
            # on a busy machine: choose again (the engines' configurations name the port)
            transfer, notify_port = free_port(), free_port()
            config = fleet_config(tmp_path, transfer, notify_port)
            try:
                served = stack.enter_context(start(config, clock, web=False, timings=TIMINGS))
                break
            except BindError:
                if attempt == 3:
                    raise
        yield served, clock, transfer, notify_port


def wait_for(check: object, what: str, timeout: float = 30.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.slow
def test_axfr_gives_exactly_the_exported_zone_and_refuses_other_addresses(
    served_fleet: tuple[Served, FixedClock, int, int], tmp_path: Path,
) -> None:
    _served, _clock, port, _n = served_fleet
    for origin in ("mia.profile.kidshield.rpz", "adult.category.kidshield.rpz",
                   "mia.safe.kidshield.rpz"):
        pulled = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", origin, port=port, timeout=10))
        written = dns.zone.from_file(str(tmp_path / "fleet" / f"{origin}.zone"), origin,
                                     relativize=True)
        assert pulled == written, origin
        assert len(pulled.nodes) > 3
    with pytest.raises(dns.xfr.TransferError):
        dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "mia.profile.kidshield.rpz", port=port,
                                        timeout=10, source="127.0.0.5"))
    with pytest.raises(dns.xfr.TransferError):
        dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "no-such.kidshield.rpz", port=port,
                                        timeout=10))


@pytest.mark.slow
def test_unbound_pulls_the_zones_and_follows_a_bedtime_edge_by_notify_and_ixfr(
    served_fleet: tuple[Served, FixedClock, int, int], authority: FakeAuthority,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kidshield.fleet")
    served, clock, _transfer, unbound_port = served_fleet
    work = tmp_path / "unbound-dir"
    work.mkdir()
    conf = unbound_config(work, unbound_port, tmp_path / "fleet" / "unbound.conf",
                          authority.port)
    unbound: Unbound = start_unbound(conf, unbound_port)
    try:
        def answer(name: str, source: str) -> tuple[str, str | None]:
            return outcome(unbound.ask(name, source), BLOCK_V4)

        # the zones arrive after Unbound starts: wait until the category zone is there
        wait_for(lambda: answer("adult-one.kstest.net", MIA) == ("block", None),
                 "Unbound never loaded the pulled zones")
        assert answer("plain-1.example.net", MIA) == ("allow", None)
        assert answer("www.google.com", MIA) == ("rewrite", "forcesafesearch.google.com")
        assert answer("roblox.com", MIA) == ("allow", None)

        clock.set(datetime.fromisoformat(SCHOOL_NIGHT))  # 21:30: mia's bedtime began at 21:00
        wait_for(lambda: answer("plain-1.example.net", MIA) == ("block", None),
                 "Unbound did not follow the bedtime edge")
        assert answer("plain-1.example.net", LEO) == ("allow", None)  # leo has no bedtime
        assert answer("roblox.com", MIA) == ("allow", None)  # her allow list still wins
        assert answer("childhelplineinternational.org", MIA) == ("allow", None)
        fleet = served.app.fleet
        assert fleet is not None and fleet.exports >= 2
        assert fleet.valid_until == datetime.fromisoformat("2026-12-03T07:00:00+00:00")
        ixfr = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith("IXFR of mia.time.kidshield.rpz from serial")]
        assert any("records out" in m for m in ixfr), caplog.text  # a diff, not the whole zone
    finally:
        stop(unbound)
