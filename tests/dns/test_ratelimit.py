"""Response rate limiting: over the limit, some answers are truncated (so a real client can
retry over TCP) and the rest are dropped."""

from __future__ import annotations

import socket

import dns.edns
import dns.flags
import dns.message
import pytest

from tests.dns.conftest import KID, ServeFactory, make_query


def _burst(port: int, names: list[str], edns: bool, wait: float = 0.5,
           ) -> list[dns.message.Message]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        for i, name in enumerate(names):
            q = make_query(name, edns=edns)
            q.id = i
            sock.sendto(q.to_wire(), ("127.0.0.1", port))
        answers = []
        sock.settimeout(wait)
        while True:
            try:
                answers.append(dns.message.from_wire(sock.recv(4096)))
            except TimeoutError:
                return answers


@pytest.mark.parametrize("edns", [False, True], ids=["plain", "edns"])
@pytest.mark.parametrize("names", ["same", "different"])
def test_a_burst_over_the_rate_limit_gets_some_truncated_answers_and_some_drops(
    serve: ServeFactory, names: str, edns: bool,
) -> None:
    served = serve(dns_options={"rate_limit_qps": 5})  # burst of 10
    burst = ["same.example"] * 60 if names == "same" else [f"n{i}.example" for i in range(60)]
    if names == "same":
        # make it a ready answer first, so the burst runs on the fast path
        served.query("same.example", source=KID, edns=edns)
    answers = _burst(served.port, burst, edns)
    full = [a for a in answers if not a.flags & dns.flags.TC]
    truncated = [a for a in answers if a.flags & dns.flags.TC]
    assert 9 <= len(full) <= 13  # the burst allowance (plus refill while sending)
    assert all(a.answer for a in full)
    assert all(not a.answer for a in truncated)
    assert all(a.edns == (0 if edns else -1) for a in answers)
    # why, for a client that sent EDNS (RFC 8914 has no rate-limit code: 0 with its text)
    assert {tuple((e.code, e.text) for e in a.extended_errors()) for a in truncated} == (
        {((dns.edns.EDECode.OTHER, "kidshield: rate limited; ask again over TCP"),)} if edns
        else {()})
    assert all(not a.extended_errors() for a in full)
    assert len(truncated) >= 15  # every second query over the limit "slips"
    assert len(answers) < 50  # and the others are dropped
    # a client told to retry over TCP gets its answer there: TCP is not rate limited
    answer = served.query("same.example", source=KID, proto="tcp")
    assert answer.answer


def test_held_back_answers_are_counted_and_logged_once_per_device_and_second(
    serve: ServeFactory,
) -> None:
    import sqlalchemy as sa

    from kidshield.storage.schema import query_log

    served = serve(dns_options={"rate_limit_qps": 5})
    served.query("same.example", source=KID)
    _burst(served.port, ["same.example"] * 60, edns=False)
    limited = served.app.dns.resolver.rate_limited  # type: ignore[union-attr]
    assert limited.get("slip", 0) >= 15 and limited.get("drop", 0) >= 10
    served.pump()
    assert served.app.db is not None
    with served.app.db.engine.connect() as conn:
        rows = conn.execute(sa.select(query_log.c.reason, query_log.c.rule, query_log.c.count)
                            .where(query_log.c.reason == "rate_limited")).all()
    # a flood is a handful of rows (one per verdict and second), whose counts add up
    assert 1 <= len(rows) <= 6
    assert sum(r.count for r in rows) == limited["slip"] + limited["drop"]
