"""Time on the query path comes from the service's clock: TTLs, expiry and rate limits follow
its monotonic time, which a test moves with ``FixedClock.advance`` instead of sleeping, and
which setting the wall clock (``FixedClock.set``) does not move."""

from __future__ import annotations

import socket
from datetime import timedelta

import dns.flags
import dns.message
import dns.rcode

from kidshield.clock import FixedClock
from tests.dns.conftest import KID, NOON, FakeUpstream, ServeFactory, addresses, make_query


def test_an_answer_is_reused_with_its_ttl_counting_down_until_the_ttl_ends(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.ttl = 30
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    assert served.query("short.example", source=KID).answer[0].ttl == 30
    clock.advance(timedelta(seconds=26))
    later = served.query("short.example", source=KID)
    assert addresses(later) == ["192.0.2.1"] and later.answer[0].ttl == 4
    assert upstream.count("short.example") == 1
    clock.advance(timedelta(seconds=5))  # past the TTL: asked again, full TTL again
    again = served.query("short.example", source=KID)
    assert again.answer[0].ttl == 30
    assert upstream.count("short.example") == 2


def test_a_negative_answer_is_reused_for_its_soa_minimum_and_no_longer(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.nxdomain.add("gone.example")
    upstream.negative_ttl = 60
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    for step in (0, 59):
        clock.advance(timedelta(seconds=step))
        assert served.query("gone.example", source=KID).rcode() == dns.rcode.NXDOMAIN
    assert upstream.count("gone.example") == 1
    clock.advance(timedelta(seconds=2))
    assert served.query("gone.example", source=KID).rcode() == dns.rcode.NXDOMAIN
    assert upstream.count("gone.example") == 2


def test_setting_the_wall_clock_neither_ages_ttls_nor_expires_the_cache(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    assert served.query("steady.example", source=KID).answer[0].ttl == 300
    clock.set(NOON + timedelta(hours=1))  # NTP after boot: an hour later by the wall clock
    served.lt.call(served.app.dns.pump)  # the pump sees the step
    answer = served.query("steady.example", source=KID)
    assert answer.answer[0].ttl == 300  # no time has passed for the TTL
    assert upstream.count("steady.example") == 1


def _full_answers(port: int, count: int) -> int:
    """Send ``count`` queries at once from the child's address; how many got a full answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        for i in range(count):
            q = make_query("busy.example")
            q.id = i
            sock.sendto(q.to_wire(), ("127.0.0.1", port))
        full = 0
        sock.settimeout(0.5)
        while True:
            try:
                reply = dns.message.from_wire(sock.recv(4096))
            except TimeoutError:
                return full
            full += not reply.flags & dns.flags.TC


def test_the_rate_limit_refills_as_the_clock_moves(serve: ServeFactory) -> None:
    clock = FixedClock(NOON)
    served = serve(dns_options={"rate_limit_qps": 5}, clock=clock)  # 5 a second, burst 10
    assert _full_answers(served.port, 15) == 10  # the burst, and no refill: time stands still
    assert _full_answers(served.port, 15) == 0
    clock.advance(timedelta(seconds=1))
    assert _full_answers(served.port, 15) == 5
    clock.advance(timedelta(seconds=10))  # a quiet while: back to the whole burst
    assert _full_answers(served.port, 15) == 10
