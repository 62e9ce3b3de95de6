"""The state a profile's cache misses read (``StateSource.for_profile``) is built once and kept
until it changes. Property: whatever happens (minutes used here and on another node, pauses,
grants, a reload that moves the profile to another zone, the clock crossing midnight or a
clock change in the profile's zone, or going back), the kept state equals one built afresh
from the same source at that instant."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kidshield.clock import FixedClock
from kidshield.policy.model import Profile
from kidshield.policy.state import Grant, ProfileState
from kidshield.state import StateSource
from kidshield.state.localday import local_day
from kidshield.storage.db import Database
from kidshield.storage.state_sql import SqlStateStore
from tests.policy.helpers import make_profile

# DST at 02:00 (New York, London), at midnight (Santiago: the day starts at 01:00 or has two
# 23:00s), by 30 minutes (Lord Howe), none (Kolkata), 25 hours apart (Kiritimati, Pago Pago:
# their dates differ by two days for an hour), a skipped day (Apia, 30 December 2011), a
# change that starts the next day half an hour early (Pyongyang, 23:30 on 4 May 2018)
ZONES = [ZoneInfo(z) for z in (
    "America/New_York", "Europe/London", "America/Santiago", "Australia/Lord_Howe",
    "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Apia",
    "Asia/Pyongyang")]
EDGES = [datetime(*d, tzinfo=UTC) for d in (
    (2026, 3, 8), (2026, 3, 29), (2026, 4, 5), (2026, 9, 6), (2026, 10, 4), (2026, 10, 25),
    (2026, 11, 1), (2011, 12, 30), (2018, 5, 4), (2026, 6, 15))]
INSTANTS = st.builds(lambda edge, us: edge + timedelta(microseconds=us),
                     st.sampled_from(EDGES), st.integers(-2 * 86400 * 10**6, 2 * 86400 * 10**6))
STEPS = st.one_of(
    st.sampled_from([timedelta(microseconds=1), timedelta(seconds=1), timedelta(minutes=1),
                     timedelta(minutes=30), timedelta(hours=1), timedelta(hours=23),
                     timedelta(days=1), -timedelta(minutes=1), -timedelta(hours=2)]),
    st.integers(0, 2 * 86400 * 10**6).map(lambda us: timedelta(microseconds=us)))
SERVICES = st.sampled_from(["youtube", "tiktok", "roblox"])
OPS = st.one_of(
    st.tuples(st.just("tick"), STEPS),
    st.tuples(st.just("use"), SERVICES),
    st.tuples(st.just("elsewhere"), SERVICES),  # another node's minute, then a sync here
    st.tuples(st.just("pause"), st.sampled_from([None, 1, 90])),
    st.tuples(st.just("internet"), st.sampled_from([None, 1, 90])),
    st.tuples(st.just("grant"), st.sampled_from([None, 5])),
    st.tuples(st.just("revoke"), st.none()),
    st.tuples(st.just("reload"), st.sampled_from(ZONES)))
IDS = itertools.count()


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One SQLite file for the module; each example uses profiles of its own."""
    database = Database.open(Path(tmp_path_factory.mktemp("kept")) / "kidshield.db")
    yield database
    database.close()


def fresh(state: StateSource, profile: Profile, now: datetime) -> ProfileState:
    """The state as built before it was kept: from the source's readers, at ``now``."""
    return ProfileState(grants=state.grants(profile.id),
                        usage_minutes=state.minutes_used(profile, now),
                        paused_until=state.paused_until(profile.id),
                        internet_paused_until=state.internet_paused_until(profile.id))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=INSTANTS, tz=st.sampled_from(ZONES), ops=st.lists(OPS, max_size=25))
# a minute used just before New York's midnight, then the next day: the new day starts at 0
@example(start=datetime(2026, 11, 1, 3, 58, tzinfo=UTC), tz=ZONES[0],
         ops=[("use", "youtube"), ("tick", timedelta(minutes=3)), ("use", "tiktok")])
# Santiago's clocks go forward at midnight: 6 September 2026 starts at 01:00
@example(start=datetime(2026, 9, 6, 3, 59, tzinfo=UTC), tz=ZONES[2],
         ops=[("use", "youtube"), ("tick", timedelta(minutes=1)), ("use", "youtube")])
# Pyongyang's 4 May 2018 ends at 23:30: a minute used at 23:20 is yesterday's at 00:05
@example(start=datetime(2018, 5, 4, 14, 50, tzinfo=UTC), tz=ZONES[8],
         ops=[("use", "youtube"), ("tick", timedelta(minutes=15)), ("use", "tiktok")])
# another node's minute arrives with a sync; then a reload moves the profile to Kolkata
@example(start=datetime(2026, 6, 15, 12, tzinfo=UTC), tz=ZONES[1],
         ops=[("use", "roblox"), ("elsewhere", "roblox"), ("reload", ZONES[4])])
def test_the_kept_state_is_the_one_built_afresh(
        shared_db: Database, start: datetime, tz: ZoneInfo,
        ops: list[tuple[str, object]]) -> None:
    here = StateSource(SqlStateStore(shared_db), FixedClock(start))
    there = StateSource(SqlStateStore(shared_db), FixedClock(start))
    here.load()
    there.load()
    store = SqlStateStore(shared_db)
    pid = f"kid{next(IDS)}"
    profile, now = make_profile(id=pid, tz=tz), start
    assert here.for_profile(profile, now) == fresh(here, profile, now)
    for op, arg in ops:
        if op == "tick":
            assert isinstance(arg, timedelta)
            now += arg
        elif op in ("use", "elsewhere"):
            node = here if op == "use" else there
            new = node.add_usage_minute(profile, str(arg), now)
            if new is not None:
                store.add_minutes({(pid, str(arg), *new)})
            here.sync()
        elif op in ("pause", "internet"):
            until = None if arg is None else now + timedelta(minutes=int(str(arg)))
            here.pause([pid], until, "Alex", kind="protection" if op == "pause" else "internet")
        elif op == "grant":
            until = None if arg is None else now + timedelta(minutes=int(str(arg)))
            here.add_grant(Grant(pid, "games.example", until, "Alex"))
        elif op == "revoke":
            for grant in here.grants(pid):
                if grant.id is not None:
                    here.revoke_grant(grant.id)
        else:
            assert isinstance(arg, ZoneInfo)
            profile = make_profile(id=pid, tz=arg)
        assert here.for_profile(profile, now) == fresh(here, profile, now), (op, now)


@settings(max_examples=300, deadline=None)
@given(now=INSTANTS, tz=st.sampled_from(ZONES), at=st.floats(0, 1))
@example(now=datetime(2011, 12, 30, 9, 59, 59, 999999, tzinfo=UTC), tz=ZONES[7], at=1.0)
@example(now=datetime(2018, 5, 4, 14, 0, tzinfo=UTC), tz=ZONES[8], at=1.0)
@example(now=datetime(2026, 4, 4, 14, 59, tzinfo=UTC), tz=ZONES[3], at=1.0)
def test_the_local_day_holds_until_the_instant_given_and_no_longer_than_it_must(
        now: datetime, tz: ZoneInfo, at: float) -> None:
    day, until = local_day(now, tz)
    assert until > now
    last = until - timedelta(microseconds=1)
    inside = now + (last - now) * at
    for instant in (now, inside, last):
        assert instant.astimezone(tz).date() == day, instant
    # it ends at the next midnight, or where the zone's offset changes
    after = until.astimezone(tz)
    assert after.date() != day or after.utcoffset() != now.astimezone(tz).utcoffset()


# How long the test lets a change of grants or pauses run while a build of the same profile
# is held between reading the old value and keeping what it built. The change is a few dict
# operations: without the lock it is done within this; with it, it must wait for the build.
HOLD = 0.5
RACE_AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class _HeldRead(dict[str, object]):
    """Stands in for one of the state source's maps (grants, pauses or internet pauses per
    profile): its first read, a build's, stops once it has the old value until ``go`` is set,
    holding the build between reading the state and keeping it (the window the lock closes;
    the build has no other step in it to wait on)."""

    def __init__(self, items: dict[str, object], reading: threading.Event,
                 go: threading.Event) -> None:
        super().__init__(items)
        self.reading, self.go, self.armed = reading, go, True

    def get(self, key: str, default: object = None) -> object:
        value = super().get(key, default)
        if self.armed:
            self.armed = False
            self.reading.set()
            self.go.wait(10)
        return value


@pytest.mark.parametrize("kind", ["grant", "pause", "internet"])
def test_a_build_that_read_the_old_grants_or_pauses_is_not_kept_after_the_change(
        shared_db: Database, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """A web thread builds a profile's state while the sync thread applies another node's
    grant or pause: the build read the old value, the change lands before the build is kept.
    The state kept must be the new one (the lock makes the change wait for the build, then
    drop it), not the old one for as long as nothing else changes."""
    here = StateSource(SqlStateStore(shared_db), FixedClock(RACE_AT))
    there = StateSource(SqlStateStore(shared_db), FixedClock(RACE_AT))
    here.load()
    there.load()
    pid = f"race{next(IDS)}"
    profile = make_profile(id=pid, tz=ZONES[0])
    if kind == "grant":
        there.add_grant(Grant(pid, "games.example", None, "Alex"))
    else:
        there.pause([pid], RACE_AT + timedelta(hours=1), "Alex",
                    kind="protection" if kind == "pause" else "internet")
    change = here.read()  # the sync's read, done; its apply is what races the build
    reading, go = threading.Event(), threading.Event()
    attribute = {"grant": "_grants", "pause": "_pauses", "internet": "_internet"}[kind]
    monkeypatch.setattr(here, attribute,
                        _HeldRead(getattr(here, attribute), reading, go))
    heard: list[str] = []
    here.subscribe(heard.append)
    builder = threading.Thread(target=here.for_profile, args=(profile, RACE_AT))
    syncer = threading.Thread(target=here.apply, args=(change,))
    builder.start()
    try:
        assert reading.wait(10), "the build never read the state"
        syncer.start()
        syncer.join(HOLD)  # with the lock it waits for the build; without, it is done
    finally:
        go.set()
        builder.join(10)
        if syncer.ident is not None:
            syncer.join(10)
    assert not builder.is_alive() and not syncer.is_alive()
    assert heard == [pid]
    assert here.for_profile(profile, RACE_AT) == fresh(here, profile, RACE_AT)
    kept = here.for_profile(profile, RACE_AT)
    if kind == "grant":
        assert [g.domain for g in kept.grants] == ["games.example"]
    elif kind == "pause":
        assert kept.paused_until == RACE_AT + timedelta(hours=1)
    else:
        assert kept.internet_paused_until == RACE_AT + timedelta(hours=1)
