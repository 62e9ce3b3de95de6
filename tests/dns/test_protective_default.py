"""A fresh install protects from the first start with no network: the configuration that
`kidshield init` writes, served by the real resolver on loopback, blocks adult and gambling
sites for a 9-12 profile before any list was downloaded."""

from __future__ import annotations

import re
from pathlib import Path

import dns.query
from typer.testing import CliRunner

from kidshield.cli import app
from kidshield.clock import FixedClock
from kidshield.config import load_config
from tests.dns.conftest import NOON, FakeUpstream, LoopThread, addresses, make_query
from tests.e2e import harness

ADULT_AND_GAMBLING = ["pornhub.com", "www.xvideos.com", "xnxx.com", "bet365.com",
                      "www.pokerstars.com", "stake.com"]


def fresh_install(tmp_path: Path, upstream: FakeUpstream) -> Path:
    path = tmp_path / "kidshield.toml"
    result = CliRunner().invoke(app, ["init", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    # only where it listens and where it forwards change: loopback ports for the test
    text = re.sub(r"(?m)^listen = \[.*\]$", 'listen = ["127.0.0.1:0"]', text, count=1)
    text = re.sub(r"(?m)^upstreams = \[.*\]$", f'upstreams = ["{upstream.url}"]', text)
    path.write_text(text, encoding="utf-8")
    return path


def test_fresh_init_config_blocks_adult_and_gambling_for_9_12_offline(
    loop_thread: LoopThread, upstream: FakeUpstream, tmp_path: Path,
) -> None:
    path = fresh_install(tmp_path, upstream)
    config = load_config(path)
    assert any(lst.source.startswith("https://") for lst in config.lists)
    # list downloads are the test's to start (TEST_TIMINGS): none is attempted, as on a
    # machine with no network
    with harness.start(path, FixedClock(NOON), web=False, lt=loop_thread) as served:
        port = served.dns_port

        def ask(name: str) -> list[str]:
            # 127.0.0.1 is no listed device: it gets default_profile "family", band 9-12
            reply = dns.query.udp(make_query(name), "127.0.0.1", port=port, timeout=2)
            return addresses(reply)

        for name in ADULT_AND_GAMBLING:
            assert ask(name) == ["127.0.0.1"], name  # the block page
            assert upstream.count(name) == 0, name
        assert ask("en.wikipedia.org") == ["192.0.2.1"]
        assert ask("www.bbc.co.uk") == ["192.0.2.1"]
    assert not (tmp_path / "kidshield-data" / "lists").exists()  # nothing was downloaded
