"""Reload (what SIGHUP does) while clients keep asking: no answer is lost, changes apply, and a
broken configuration keeps the previous one running."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import dns.exception
import dns.query
import pytest
from prometheus_client import generate_latest

from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    TEEN,
    FakeUpstream,
    LoopThread,
    Served,
    ServeFactory,
    addresses,
    config_text,
    make_query,
)


def test_reload_under_load_loses_no_answers_and_applies_the_new_config(
    serve: ServeFactory, upstream: FakeUpstream, tmp_path: Path,
) -> None:
    blocklist = tmp_path / "adult.txt"
    blocklist.write_text("old.example\n", encoding="utf-8")
    lists = f'\n[[lists]]\nname = "adult"\nsource = "{blocklist}"\ncategory = "adult"\n'
    served = serve(rest=HOUSEHOLD + lists)
    port = served.port
    stop = threading.Event()
    lost: list[str] = []
    answered = [0]

    def client(source: str) -> None:
        i = 0
        while not stop.is_set():
            name = ("denied.example", "old.example", f"n{i % 50}.example")[i % 3]
            try:
                answer = dns.query.udp(make_query(name), "127.0.0.1", port=port, timeout=1.0,
                                       source=source)
                if not answer.answer:
                    lost.append(f"{name}: {answer.rcode()}")
                answered[0] += 1
            except dns.exception.Timeout:
                lost.append(f"{name}: timeout")
            i += 1

    threads = [threading.Thread(target=client, args=(src,)) for src in (KID, ADULT)]

    def wait_for_answers(count: int) -> None:
        target = answered[0] + count
        deadline = time.monotonic() + 5
        while answered[0] < target and time.monotonic() < deadline:
            time.sleep(0.005)

    for t in threads:
        t.start()
    try:
        for round_ in range(4):
            wait_for_answers(25)
            deny = ["denied.example"] + [f"new{r}.example" for r in range(round_ + 1)]
            text = config_text([upstream.url], rest=HOUSEHOLD.replace(
                'deny = ["denied.example"]', f"deny = {deny!r}".replace("'", '"')) + lists)
            served.write_config(text)
            blocklist.write_text(f"old.example\nlist{round_}.example\n", encoding="utf-8")
            assert served.reload()
        wait_for_answers(25)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    assert lost == []
    assert answered[0] >= 125
    assert served.app.reloads == 4
    # the last configuration is the one in force
    assert addresses(served.query("new3.example", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("list3.example", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("new3.example", source=ADULT)) == ["192.0.2.1"]


def test_a_broken_config_on_reload_keeps_the_old_state(serve: ServeFactory) -> None:
    served = serve()
    assert addresses(served.query("denied.example", source=KID)) == ["127.0.0.1"]
    good = served.config_path.read_text(encoding="utf-8")
    served.write_config(good.replace('deny = ["denied.example"]', 'deny = ["denied.example"'))
    assert served.reload() is False
    served.write_config(good.replace('age_band = "9-12"', 'age_band = "ten"'))
    assert served.reload() is False
    assert served.app.reloads == 0
    for _ in range(2):
        assert addresses(served.query("denied.example", source=KID)) == ["127.0.0.1"]
        assert addresses(served.query("fine.example", source=KID)) == ["192.0.2.1"]
    # fixing the file makes the next reload work again
    served.write_config(good.replace('deny = ["denied.example"]', "deny = []"))
    assert served.reload() is True
    assert addresses(served.query("denied.example", source=KID)) == ["192.0.2.1"]


def test_a_changed_config_file_is_picked_up_by_the_watcher(serve: ServeFactory) -> None:
    served = serve()
    assert addresses(served.query("denied.example", source=KID)) == ["127.0.0.1"]
    good = served.config_path.read_text(encoding="utf-8")
    served.write_config(good.replace('deny = ["denied.example"]', 'deny = ["other.example"]'))
    served.lt.run(served.app._watch())
    assert served.app.reloads == 1
    assert addresses(served.query("denied.example", source=KID)) == ["192.0.2.1"]
    # a broken file is tried once, not again every few seconds until it changes
    served.write_config(good.replace("[dns]", "[dns"))
    for _ in range(3):
        served.lt.run(served.app._watch())
    assert (served.app.reloads, served.app.reload_failures) == (1, 1)
    served.write_config(good)
    served.lt.run(served.app._watch())
    assert (served.app.reloads, served.app.reload_failures) == (2, 1)
    assert addresses(served.query("denied.example", source=KID)) == ["127.0.0.1"]


def test_changed_upstreams_take_effect_on_reload(
    serve: ServeFactory, upstream: FakeUpstream, loop_thread: LoopThread,
) -> None:
    other = FakeUpstream(default_a="198.51.100.99")
    loop_thread.run(other.start())
    try:
        served = serve()
        assert addresses(served.query("first.example", source=KID)) == ["192.0.2.1"]
        served.write_config(config_text([other.url], rest=HOUSEHOLD))
        assert served.reload()
        assert addresses(served.query("second.example", source=KID)) == ["198.51.100.99"]
        assert upstream.count("second.example") == 0
        # answers cached from the old upstream stay valid until their TTL ends
        assert addresses(served.query("first.example", source=KID)) == ["192.0.2.1"]
    finally:
        loop_thread.run(other.stop())


def test_a_list_that_became_unreadable_on_reload_keeps_blocking_with_its_last_good_copy(
    serve: ServeFactory, tmp_path: Path,
) -> None:
    blocklist = tmp_path / "adult.txt"
    blocklist.write_text("adult.example\n", encoding="utf-8")
    lists = f'\n[[lists]]\nname = "adult"\nsource = "{blocklist}"\ncategory = "adult"\n'
    served = serve(rest=HOUSEHOLD + lists)
    assert addresses(served.query("adult.example", source=KID)) == ["127.0.0.1"]
    blocklist.write_text("<!DOCTYPE html><html><body>captive portal</body></html>\n",
                         encoding="utf-8")
    assert served.reload() is True  # a child's protection must not silently disappear
    assert addresses(served.query("adult.example", source=KID)) == ["127.0.0.1"]
    blocklist.unlink()
    assert served.reload() is True
    assert addresses(served.query("adult.example", source=KID)) == ["127.0.0.1"]
    assert served.lt.call(served.app.refresh_state_now) is None
    # taking the list out of the configuration on purpose is a valid change
    served.write_config(served.config_path.read_text(encoding="utf-8").replace(lists, "\n"))
    assert served.reload() is True
    assert addresses(served.query("adult.example", source=KID)) == ["192.0.2.1"]


def _rejected(served: Served) -> dict[str, float]:
    text = generate_latest(served.app.dns.metrics.registry).decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^kidshield_list_rejected\{list="([^"]+)"\} (\S+)$', text, re.M)}


def test_a_local_list_emptied_or_garbled_keeps_its_last_good_copy_with_a_warning(
    serve: ServeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14 item 2: a reload checks a local file as a download is checked."""
    blocklist = tmp_path / "adult.txt"
    blocklist.write_text("adult.example\nmore-adult.example\n", encoding="utf-8")
    lists = f'\n[[lists]]\nname = "adult"\nsource = "{blocklist}"\ncategory = "adult"\n'
    served = serve(rest=HOUSEHOLD + lists)
    assert addresses(served.query("adult.example", source=KID)) == ["127.0.0.1"]
    assert _rejected(served)["adult"] == 0
    garbled = "".join(f"{'#' if i % 9 else ''}<td>{i}</td> ??\n" for i in range(40))
    for bad in ("", "\n# nothing here yet\n", garbled + "fresh.example\n"):
        blocklist.write_text(bad, encoding="utf-8")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="kidshield"):
            assert served.reload() is True  # the rest of the configuration still applies
        assert addresses(served.query("adult.example", source=KID)) == ["127.0.0.1"], bad
        assert addresses(served.query("fresh.example", source=KID)) == ["192.0.2.1"]
        assert _rejected(served)["adult"] == 1
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("list adult:" in w and "last good copy" in w for w in warned), warned
    # a good file again is taken, and becomes the new last good copy
    blocklist.write_text("fresh.example\n", encoding="utf-8")
    assert served.reload() is True
    assert addresses(served.query("fresh.example", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("adult.example", source=KID)) == ["192.0.2.1"]
    assert _rejected(served)["adult"] == 0


def test_cache_settings_take_effect_on_reload(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve()
    served.query("a.example", source=KID)
    served.query("a.example", source=TEEN)  # another profile: from the shared cache
    assert upstream.count("a.example") == 1
    served.write_config(config_text([upstream.url], {"cache_size": 0}, rest=HOUSEHOLD))
    assert served.reload()
    served.query("b.example", source=KID)
    served.query("b.example", source=TEEN)
    assert upstream.count("b.example") == 2
