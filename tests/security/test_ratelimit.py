"""The rate limiter on its own (web/ratelimit.py): limits, memory, normalised identities."""

from __future__ import annotations

from kidshield.storage.protocols import account_key as name_key
from kidshield.web.ratelimit import OVERFLOW, Limit, RateLimiter, client_key


def limiter(capacity: int = 50_000, **limits: Limit) -> tuple[RateLimiter, list[float]]:
    now = [1000.0]
    return RateLimiter(limits or {"k": Limit(5, 300)}, lambda: now[0], capacity), now


def test_a_burst_then_one_event_per_interval() -> None:
    rl, now = limiter()
    assert [rl.acquire(("k", "a")) for _ in range(5)] == [0.0] * 5
    wait = rl.acquire(("k", "a"))
    assert 59 < wait <= 60  # 5 per 300 s: one more a minute later
    assert rl.acquire(("k", "b")) == 0.0  # per key
    now[0] += 60
    assert rl.acquire(("k", "a")) == 0.0
    assert rl.acquire(("k", "a")) > 0


def test_nothing_is_taken_when_any_key_must_wait() -> None:
    rl, _ = limiter(k=Limit(5, 300), j=Limit(1, 300))
    assert rl.acquire(("k", "a"), ("j", "a")) == 0.0
    assert rl.acquire(("k", "a"), ("j", "a")) > 0
    assert [rl.acquire(("k", "a")) for _ in range(4)] == [0.0] * 4  # k was not charged


def test_release_gives_an_event_back() -> None:
    rl, _ = limiter()
    for _ in range(5):
        rl.acquire(("k", "a"))
    rl.release("k", "a")
    assert rl.acquire(("k", "a")) == 0.0


def test_a_full_table_never_drops_a_held_key() -> None:
    rl, now = limiter(capacity=1000)
    for _ in range(6):
        rl.acquire(("k", "victim"))
    assert rl.wait("k", "victim") > 0
    for i in range(60_000):  # 60 times the table: new names from everywhere
        rl.acquire(("k", f"flood-{i}"))
        if i % 1000 == 0:
            now[0] += 0.5
    assert len(rl) <= 1000 + 1
    assert rl.wait("k", "victim") > 0  # still held
    assert rl.wait("k", OVERFLOW) > 0  # the newcomers share one slowed-down key


def test_keys_whose_wait_ran_out_make_room() -> None:
    rl, now = limiter(capacity=10)
    for i in range(10):
        rl.acquire(("k", str(i)))
    now[0] += 301
    assert rl.acquire(("k", "new")) == 0.0
    assert len(rl) == 1


def test_identities_are_normalised() -> None:
    assert name_key(" Parent ") == name_key("parent") == name_key("PARENT")
    assert name_key("ｐａｒｅｎｔ") == "parent"
    assert name_key("a  b") == name_key("a b")
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
