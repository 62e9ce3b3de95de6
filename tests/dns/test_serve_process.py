"""`kidshield serve` as a real process: it reports its ports, reloads on SIGHUP, and on SIGTERM
stops cleanly with the query log flushed."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query

from tests.dns.conftest import HOUSEHOLD, KID, FakeUpstream, addresses, config_text, make_query


def _ask(port: int, name: str) -> dns.message.Message:
    return dns.query.udp(make_query(name), "127.0.0.1", port=port, timeout=2, source=KID)


def test_serve_reloads_on_sighup_and_flushes_the_log_on_sigterm(
    upstream: FakeUpstream, tmp_path: Path,
) -> None:
    config = tmp_path / "kidshield.toml"
    config.write_text(config_text([upstream.url], rest=HOUSEHOLD), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kidshield", "serve", "-c", str(config), "--no-web"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        port = None
        deadline = time.monotonic() + 20
        seen = []
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(r"listening: udp 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
        assert port, "".join(seen)
        assert addresses(_ask(port, "denied.example")) == ["127.0.0.1"]
        assert addresses(_ask(port, "later.example")) == ["192.0.2.1"]

        config.write_text(config.read_text(encoding="utf-8").replace(
            'deny = ["denied.example"]', 'deny = ["denied.example", "later.example"]'),
            encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while addresses(_ask(port, "later.example")) != ["127.0.0.1"]:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.05)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()
    db = sqlite3.connect(tmp_path / "kidshield.db")
    try:
        rows = db.execute("SELECT name, reason FROM query_log ORDER BY id").fetchall()
    finally:
        db.close()
    assert ("denied.example", "deny_list") in rows
    assert rows[-1] == ("later.example", "deny_list")
