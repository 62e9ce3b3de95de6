"""The query log holds a bounded number of answers in memory, however many distinct names a
minute brings (issue 17 item 6: RSS after 60,000 distinct names): a window that fills is
folded into rows before its minute ends, and nothing is lost."""

from __future__ import annotations

import socket

import dns.message
import sqlalchemy as sa

from kidshield.dns.answerlog import WINDOW_MAX
from kidshield.storage.schema import query_log
from tests.dns.conftest import KID, Served, ServeFactory, make_query


def ask_all(served: Served, names: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        sock.settimeout(5)
        for start in range(0, len(names), 50):  # a few in flight at once, all answered
            batch = names[start : start + 50]
            for name in batch:
                sock.sendto(make_query(name).to_wire(), ("127.0.0.1", served.port))
            for _ in batch:
                assert dns.message.from_wire(sock.recv(4096)).answer


def logged(served: Served) -> list[tuple[str, int]]:
    served.pump()  # the final pump writes the open minute too
    with served.app.db.engine.connect() as conn:
        return [(r.name, r.count) for r in conn.execute(
            sa.select(query_log.c.name, query_log.c["count"]))]


def test_a_minute_of_more_distinct_names_than_the_window_holds_is_written_early(
    serve: ServeFactory,
) -> None:
    served = serve()  # a fixed clock: the minute never ends by itself
    app = served.app
    names = [f"n{i}.scan.example" for i in range(WINDOW_MAX + 600)]
    ask_all(served, names)

    def written() -> set[str]:
        # not final: the open minute stays open
        served.lt.call(app.dns.pump)
        served.lt.call(app.dns.pump)
        app.writer.flush()
        with app.db.engine.connect() as conn:
            return {r.name for r in conn.execute(sa.select(query_log.c.name))}

    early = written()
    assert len(early) >= WINDOW_MAX  # folded and written while the minute is still open
    assert 0 < served.lt.call(lambda: app.dns.log_pending) < WINDOW_MAX
    # the final pump writes the rest: every answer has its one row
    assert sorted(logged(served)) == sorted((name, 1) for name in names)


def test_repeats_on_the_fast_path_share_their_row_for_the_minute_however_many_names(
    serve: ServeFactory,
) -> None:
    # more hot names than the slow-path bound: their repeats are counted on the ready answers
    # all minute, not folded (and written) again every time the bound is reached
    served = serve()
    names = [f"n{i}.hot.example" for i in range(WINDOW_MAX + 600)]
    for _ in range(4):  # the slow path once, then the fast path
        ask_all(served, names)
    rows = logged(served)
    per_name: dict[str, list[int]] = {}
    for name, count in rows:
        per_name.setdefault(name, []).append(count)
    assert {name: sum(counts) for name, counts in per_name.items()} == dict.fromkeys(names, 4)
    # one row for the repeats, one for the first answer when it was folded early
    assert max(len(counts) for counts in per_name.values()) <= 2
