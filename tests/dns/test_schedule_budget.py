"""Time-driven policy over real sockets: bedtime starting and ending with a fixed clock (ready
answers must not outlive the decision), and daily budgets filled by usage minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dns.edns
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.policy.state import Grant
from kidshield.storage.schema import query_log
from kidshield.storage.state_sql import SqlStateStore
from tests.dns.conftest import ADULT, HOUSEHOLD, KID, ServeFactory, addresses

BLOCK_PAGE = ["127.0.0.1"]
UPSTREAM = ["192.0.2.1"]


def test_bedtime_starts_at_21_00_even_for_names_answered_a_minute_before(
    serve: ServeFactory,
) -> None:
    # 2026-12-02 is a Wednesday: a school night, so the 9-12 bedtime 21:00-07:00 applies
    clock = FixedClock(datetime(2026, 12, 2, 20, 59, tzinfo=UTC))
    served = serve(clock=clock)
    for _ in range(3):  # the last ones come from the ready-answer fast path
        assert addresses(served.query("homework.example", source=KID)) == UPSTREAM
    clock.advance(timedelta(minutes=1))
    answer = served.query("homework.example", source=KID, edns=True)
    assert addresses(answer) == BLOCK_PAGE
    assert [e.code for e in answer.extended_errors()] == [dns.edns.EDECode.FILTERED]
    assert "bedtime" in (answer.extended_errors()[0].text or "")
    assert addresses(served.query("homework.example", source=KID)) == BLOCK_PAGE
    assert addresses(served.query("homework.example", source=ADULT)) == UPSTREAM
    # and it ends at 07:00 the next morning
    clock.set(datetime(2026, 12, 3, 6, 59, tzinfo=UTC))
    assert addresses(served.query("homework.example", source=KID)) == BLOCK_PAGE
    clock.advance(timedelta(minutes=1))
    assert addresses(served.query("homework.example", source=KID)) == UPSTREAM


BUDGET = HOUSEHOLD.replace(
    'deny = ["denied.example"]',
    'deny = ["denied.example"]\nunblocked_services = ["youtube"]\nbudgets = { youtube = 2 }',
)


def test_usage_minutes_fill_the_daily_budget_which_then_blocks_the_service(
    serve: ServeFactory,
) -> None:
    clock = FixedClock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    served = serve(rest=BUDGET, clock=clock)
    assert addresses(served.query("youtube.com", source=KID)) == UPSTREAM
    assert addresses(served.query("i.ytimg.com", source=KID)) == UPSTREAM  # same minute
    served.pump()
    clock.advance(timedelta(minutes=1))
    assert addresses(served.query("youtube.com", source=KID)) == UPSTREAM
    served.pump()  # two minutes used: the budget is spent
    clock.advance(timedelta(seconds=10))
    answer = served.query("youtube.com", source=KID, edns=True)
    assert addresses(answer) == BLOCK_PAGE
    assert "budget" in (answer.extended_errors()[0].text or "")
    assert addresses(served.query("www.youtu.be", source=KID)) == BLOCK_PAGE
    assert addresses(served.query("other.example", source=KID)) == UPSTREAM
    assert addresses(served.query("youtube.com", source=ADULT)) == UPSTREAM

    assert served.app.db is not None
    used = SqlStateStore(served.app.db).minutes_of(("kid", "youtube", clock.now().date()))
    assert used == {900, 901}  # 15:00 and 15:01
    served.pump()
    with served.app.db.engine.connect() as conn:
        reasons = conn.execute(
            sa.select(query_log.c.reason)
            .where(query_log.c.name == "youtube.com", query_log.c.profile == "kid")
            .order_by(query_log.c.id)
        ).scalars().all()
    assert reasons == ["allowed", "allowed", "budget"]

    # a new day starts with a fresh budget (after bedtime, which ends at 07:00)
    clock.set(datetime(2026, 12, 3, 7, 30, tzinfo=UTC))
    assert addresses(served.query("youtube.com", source=KID)) == UPSTREAM


def test_safe_search_rewritten_youtube_counts_towards_the_budget(serve: ServeFactory) -> None:
    clock = FixedClock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    served = serve(rest=BUDGET, clock=clock)
    for _ in range(2):
        answer = served.query("www.youtube.com", source=KID)
        assert answer.answer and answer.answer[0].rdtype == 5  # CNAME restrict.youtube.com
        served.pump()
        clock.advance(timedelta(minutes=1))
    assert addresses(served.query("www.youtube.com", source=KID)) == BLOCK_PAGE


def test_a_parent_grant_opens_a_blocked_name_until_it_ends(serve: ServeFactory) -> None:
    clock = FixedClock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    served = serve(clock=clock)
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE
    assert served.app.db is not None
    until = clock.now() + timedelta(minutes=30)
    # another kidshield on the same database grants it
    SqlStateStore(served.app.db).add_grant(
        Grant("kid", "denied.example", until, granted_by="mum"), clock.now())
    served.lt.call(served.app.refresh_state_now)  # what the 1-second sync does
    for _ in range(2):
        assert addresses(served.query("denied.example", source=KID)) == UPSTREAM
    clock.set(until)
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE


def test_pausing_a_profile_lifts_blocks_until_the_pause_ends(serve: ServeFactory) -> None:
    clock = FixedClock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    served = serve(clock=clock)
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE
    served.lt.call(served.app.state.pause, ["kid"], clock.now() + timedelta(minutes=10), "test")
    assert addresses(served.query("denied.example", source=KID)) == UPSTREAM
    assert addresses(served.query("denied.example", source=KID)) == UPSTREAM
    clock.advance(timedelta(minutes=10))
    assert addresses(served.query("denied.example", source=KID)) == BLOCK_PAGE


def test_bedtime_follows_the_profiles_own_time_zone(serve: ServeFactory) -> None:
    rest = HOUSEHOLD.replace('age_band = "9-12"',
                             'age_band = "9-12"\ntimezone = "America/New_York"')
    # Wednesday 20:59 in New York is Thursday 01:59 UTC
    clock = FixedClock(datetime(2026, 12, 3, 1, 59, tzinfo=UTC))
    served = serve(rest=rest, clock=clock)
    assert addresses(served.query("homework.example", source=KID)) == UPSTREAM
    clock.advance(timedelta(minutes=1))
    assert addresses(served.query("homework.example", source=KID)) == BLOCK_PAGE
