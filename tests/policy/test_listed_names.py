"""The engine looks a name up in its small suffix maps only when one of the name's suffixes is
listed in any of them (``PolicyEngine.listed``): names nobody listed skip every map, and a
profile built again with a new entry (a reload) is seen by the next decision."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.policy.reason import Action, Reason
from kidshield.policy.state import ProfileState
from tests.policy.helpers import LONDON, block_lists, decide, engine, local, make_profile

DAY = local(LONDON, 2026, 12, 1, 15, 0)


@pytest.mark.parametrize(("name", "action", "reason"), [
    ("www.childline.org.uk", Action.ALLOW, Reason.HELPLINE),
    ("cdn.dns.google", Action.BLOCK, Reason.BYPASS),
    ("www.chatroulette.com", Action.BLOCK, Reason.SERVICE),
    ("www.google.com", Action.REWRITE, Reason.SAFE_SEARCH),
    ("search.yahoo.com", Action.BLOCK, Reason.SAFE_SEARCH_UNSUPPORTED),
    ("a.b.own-block.example", Action.BLOCK, Reason.DENY_LIST),
    ("x.own-allow.example", Action.ALLOW, Reason.ALLOW_LIST),
    ("unlisted.example", Action.ALLOW, Reason.ALLOWED),
])
def test_every_map_is_still_consulted_for_its_names(name: str, action: Action,
                                                     reason: Reason) -> None:
    profile = make_profile(allow=["own-allow.example"], deny=["own-block.example"])
    eng = engine()
    assert "own-block.example" in eng.listed(profile)
    d = decide(eng, name, profile, DAY)
    assert (d.action, d.reason) == (action, reason)


def test_a_profile_rebuilt_with_a_new_entry_counts_for_the_next_decision() -> None:
    eng = engine()
    before = make_profile()
    assert decide(eng, "late.example", before, DAY).reason is Reason.ALLOWED
    after = make_profile(deny=["late.example"])  # same id: the profile after a reload
    assert after.id == before.id
    d = decide(eng, "www.late.example", after, DAY)
    assert (d.action, d.reason) == (Action.BLOCK, Reason.DENY_LIST)
    # and the engine keeps the old profile's answers for the old profile
    assert decide(eng, "www.late.example", before, DAY).reason is Reason.ALLOWED


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(
        st.integers(0, 4 * 86_400),  # seconds after the start
        st.sampled_from(["a.unlisted.example", "b.unlisted.example", "www.childline.org.uk",
                         "casino.example", "x.casino.example", "own-block.example", "c.d.e"]),
        st.sampled_from([None, 600, 7200]),  # a protection pause ending this many s later
        st.sampled_from([None, 900]),  # an internet pause
    ), min_size=1, max_size=12),
    birthday=st.booleans(),
)
def test_decisions_shared_by_unlisted_names_equal_decisions_made_afresh(
    steps: list[tuple[int, str, int | None, int | None]], birthday: bool,
) -> None:
    # one engine remembers the decision for names nothing lists (per profile and pauses,
    # until its valid_until); a fresh engine per question must decide exactly the same,
    # across bedtime edges, pauses starting and ending, and a birthday changing the band
    lists = block_lists([("casino.example", "gambling")])
    kw = {"birth_date": date(2014, 12, 3)} if birthday else {}
    profile = make_profile(deny=["own-block.example"], **kw)
    shared = engine(lists)
    start = local(LONDON, 2026, 12, 1, 18, 0)
    for offset, name, pause, internet in sorted(steps, key=lambda step: step[0]):
        now = start + timedelta(seconds=offset)
        state = ProfileState(
            paused_until=None if pause is None else start + timedelta(seconds=pause),
            internet_paused_until=None if internet is None else start + timedelta(
                seconds=internet))
        assert decide(shared, name, profile, now, state) == decide(
            engine(lists), name, profile, now, state), (name, now)
