"""`kidshield serve` as a real process: it reports its ports, reloads on SIGHUP, and on SIGTERM
stops cleanly with the query log flushed; with its web server it serves the dashboard's
address it printed."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import dns.message
import dns.query
import httpx

from tests.dns.conftest import (
    HOUSEHOLD_ANY_HOUR,
    KID,
    FakeUpstream,
    addresses,
    config_text,
    make_query,
)
from tests.e2e.harness import ServeProcess


def _ask(port: int, name: str) -> dns.message.Message:
    return dns.query.udp(make_query(name), "127.0.0.1", port=port, timeout=2, source=KID)


def test_serve_reloads_on_sighup_and_flushes_the_log_on_sigterm(
    upstream: FakeUpstream, tmp_path: Path,
) -> None:
    config = tmp_path / "kidshield.toml"
    config.write_text(config_text([upstream.url], rest=HOUSEHOLD_ANY_HOUR), encoding="utf-8")
    proc = ServeProcess(config, "--no-web")
    try:
        port = proc.ports["udp"]
        assert proc.ports["tcp"] == port
        assert addresses(_ask(port, "denied.example")) == ["127.0.0.1"]
        assert addresses(_ask(port, "later.example")) == ["192.0.2.1"]

        config.write_text(config.read_text(encoding="utf-8").replace(
            'deny = ["denied.example"]', 'deny = ["denied.example", "later.example"]'),
            encoding="utf-8")
        proc.send(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while addresses(_ask(port, "later.example")) != ["127.0.0.1"]:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.05)
    finally:
        assert proc.stop() == 0, "".join(proc.output)
    db = sqlite3.connect(tmp_path / "kidshield.db")
    try:
        rows = db.execute("SELECT name, reason FROM query_log ORDER BY id").fetchall()
    finally:
        db.close()
    assert ("denied.example", "deny_list") in rows
    assert rows[-1] == ("later.example", "deny_list")


def test_serve_with_its_web_server_prints_the_address_it_listens_on(
    upstream: FakeUpstream, tmp_path: Path,
) -> None:
    config = tmp_path / "kidshield.toml"
    config.write_text(config_text([upstream.url], rest=HOUSEHOLD_ANY_HOUR), encoding="utf-8")
    proc = ServeProcess(config)
    try:
        assert proc.web_url is not None and proc.web_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=proc.web_url, timeout=5) as http:
            health = http.get("/healthz").json()
            assert ["udp", "127.0.0.1", proc.ports["udp"]] in health["listening"]
            assert http.get("/report").status_code == 200  # the features are there
        assert "no parent account yet" in "".join(proc.output)  # the one-time setup link
    finally:
        assert proc.stop() == 0, "".join(proc.output)


IMPORT_HEADER = "import time: self [us] | cumulative | imported package"
# (not click: uvicorn, the web server, imports it for its own command line)
COMMAND_LINE = {"typer", "rich", "shellingham", "pygments"}


def _imports_per_process(output: list[str]) -> list[set[str]]:
    """The top-level packages each interpreter imported, from ``PYTHONPROFILEIMPORTTIME``
    (inherited across the restart; every interpreter starts its list with the header)."""
    processes: list[set[str]] = []
    for line in output:
        if line.startswith(IMPORT_HEADER):
            processes.append(set())
        elif line.startswith("import time:") and processes:
            processes[-1].add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return processes


def test_the_server_process_holds_none_of_the_command_lines_libraries(
    upstream: FakeUpstream, tmp_path: Path,
) -> None:
    """The command line parses the options with typer and prints with rich; the process it
    starts with the process settings (the resolver, for as long as it runs) imports neither,
    nor the command-line client httpx would import with them (rich, pygments)."""
    config = tmp_path / "kidshield.toml"
    config.write_text(config_text([upstream.url], rest=HOUSEHOLD_ANY_HOUR), encoding="utf-8")
    proc = ServeProcess(config, "--workers", "1", env={"PYTHONPROFILEIMPORTTIME": "1"})
    try:
        assert addresses(_ask(proc.ports["udp"], "denied.example")) == ["127.0.0.1"]
        assert proc.web_url is not None
        with httpx.Client(base_url=proc.web_url, timeout=5) as http:
            assert http.get("/report").status_code == 200
    finally:
        assert proc.stop() == 0, "".join(proc.output)
    processes = _imports_per_process(proc.output)
    command_line, server = processes[0], next(p for p in processes if "uvloop" in p)
    assert {"typer", "rich"} <= command_line  # what the check below would see
    assert "kidshield" in server and not server & COMMAND_LINE, server & COMMAND_LINE


def test_a_configuration_the_server_cannot_load_is_one_error_line_and_status_2(
    tmp_path: Path,
) -> None:
    config = tmp_path / "kidshield.toml"
    config.write_text('[server]\ndata_dir = "data"\n\n[dns]\nlisten = "not a list"\n',
                      encoding="utf-8")
    proc = ServeProcess(config, "--no-web", wait=False)
    proc.proc.wait(60)  # it stops by itself
    assert proc.stop() == 2
    output = "".join(proc.output)
    assert f"error: {config}:5" in output and "Traceback" not in output, output
