"""Property: a window's membership never changes strictly before the edge the engine reports,
whatever the window, the zone and the instant (DST nights included)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kidshield.policy import schedule
from kidshield.policy.schedule import Window, next_change, window_at
from tests.policy.helpers import LONDON, NEW_YORK, utc

DAYS = [utc(2026, 3, 7), utc(2026, 3, 8), utc(2026, 3, 28), utc(2026, 3, 29),
        utc(2026, 10, 24), utc(2026, 10, 25), utc(2026, 10, 31), utc(2026, 11, 1),
        utc(2026, 6, 15), utc(2026, 12, 1)]
QUARTERS = st.integers(0, 96).map(lambda q: q * 15)
EVERY_DAY = frozenset(range(7))
Case = tuple[Window, datetime, ZoneInfo]


@st.composite
def cases(draw: st.DrawFn, days: st.SearchStrategy[frozenset[int]] = st.frozensets(
        st.integers(0, 6))) -> Case:
    """A window (quarter-hour ends, some weekdays), an instant within two days of a clock
    change (or an ordinary day) and the zone it is read in."""
    minute = draw(st.integers(0, 2 * 1440))
    return (Window(draw(QUARTERS), draw(QUARTERS), draw(days)),
            draw(st.sampled_from(DAYS)) + timedelta(minutes=minute),
            draw(st.sampled_from([LONDON, NEW_YORK])))


@settings(max_examples=150, deadline=None)
@given(case=cases())
# 01:40 BST: 01:00-01:30 comes round again at 01:00 GMT
@example(case=(Window(60, 90, EVERY_DAY), utc(2026, 10, 25, 0, 40), LONDON))
# midnight to midnight daily: "never" must hold over DST
@example(case=(Window(0, 0, EVERY_DAY), utc(2026, 10, 25, 0, 40), LONDON))
@example(case=(Window(1320, 420, frozenset()), utc(2026, 3, 8), NEW_YORK))
def test_window_membership_is_constant_until_the_reported_edge(case: Case) -> None:
    window, now, tz = case
    edge = next_change(window, now, tz)
    if edge is None:
        # "never changes": check more than a week, a clock change included in DAYS' nights
        edge = now + timedelta(days=8)
    assert edge > now
    inside = window.contains(now.astimezone(tz))
    # windows start and end on quarter hours, and so do these zones' clock changes
    t = now.replace(minute=now.minute - now.minute % 15) + timedelta(minutes=15)
    while t < edge:
        assert window.contains(t.astimezone(tz)) is inside, (t, edge)
        t += timedelta(minutes=15)


@settings(max_examples=150, deadline=None)
@given(case=cases(), later=st.lists(st.integers(0, 3 * 86_400), min_size=1, max_size=8))
def test_a_remembered_edge_is_the_edge_computed_afresh(case: Case, later: list[int]) -> None:
    # window_at() remembers its last edge and membership per window (a resolver asks again
    # for every new name); asked again at any later instant, it must answer what it computes
    # from scratch, and what the window itself says
    window, now, tz = case
    next_change(window, now, tz)
    for seconds in sorted(later):
        t = now + timedelta(seconds=seconds)
        remembered = window_at(window, t, tz)
        schedule._NEXT_EDGES.clear()
        assert remembered == window_at(window, t, tz), (t, remembered)
        assert remembered[0] is window.contains(t.astimezone(tz)), (t, remembered)


@given(case=cases(days=st.just(frozenset())))
def test_a_window_without_days_never_changes_and_is_never_inside(case: Case) -> None:
    # ``bedtime_days = []`` switches bedtime off: its edge is "never" (None), not a week ahead,
    # so a decision it takes part in is not bounded by it (and nothing recomputes it per name)
    window, now, tz = case
    assert window_at(window, now, tz) == (False, None)


def test_an_edge_is_none_only_for_a_window_that_never_changes() -> None:
    now = utc(2026, 10, 25) + timedelta(minutes=40)
    assert window_at(Window(0, 0), now, LONDON) == (True, None)
    # the same shape on fewer days, or a shorter daily window, still has edges
    assert next_change(Window(0, 0, frozenset(range(6))), now, LONDON) is not None
    assert next_change(Window(0, 1435), now, LONDON) is not None
