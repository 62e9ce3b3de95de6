"""The engine looks a name up in its small suffix maps only when one of the name's suffixes is
listed in any of them (``PolicyEngine.listed``): names nobody listed skip every map, and a map
that grows after a decision is seen by the next one."""

from __future__ import annotations

import pytest

from kidshield.policy.reason import Action, Reason, RuleSource
from tests.policy.helpers import LONDON, decide, engine, local, make_profile

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


def test_an_entry_added_to_a_profile_map_after_a_decision_counts_for_the_next() -> None:
    profile = make_profile()
    eng = engine()
    assert decide(eng, "late.example", profile, DAY).reason is Reason.ALLOWED
    profile.deny.add("late.example", RuleSource("block list"))
    d = decide(eng, "www.late.example", profile, DAY)
    assert (d.action, d.reason) == (Action.BLOCK, Reason.DENY_LIST)
