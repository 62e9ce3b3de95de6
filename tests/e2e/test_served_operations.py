"""The operator's walk (docs/testing.md, session 16): what a school's IT admin or a small ISP
meets over months of running `kidshield serve` for real, each defect found with a test that
runs the real server on a real SQLite file (and PostgreSQL where that is the feature)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest
import sqlalchemy as sa

from kidshield.storage.db import Database
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import PASSWORD, ROOT, Served, ServeProcess
from tests.e2e.household import config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def household(folder: Path, upstream: FakeUpstream, storage: str = "kidshield.db") -> Path:
    write_lists(folder)
    text = config_text(upstream.port).replace('storage = "kidshield.db"',
                                              f'storage = "{storage}"')
    path = folder / "kidshield.toml"
    path.write_text(text, encoding="utf-8")
    return path


def kidshield(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "kidshield", *args, "-c", str(config)],
                          capture_output=True, text=True, env=env, cwd=config.parent,
                          timeout=120, check=False)


def test_a_database_from_a_newer_kidshield_is_refused_clearly_and_left_as_it_was(
    any_db_url: str, tmp_path: Path, upstream: FakeUpstream,
) -> None:
    # a newer kidshield migrated this database, then the operator went back to this version
    db = Database.open(any_db_url)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_newer'"))
    db.close()
    config = household(tmp_path, upstream, any_db_url)
    for args in (("serve",), ("lists", "update"), ("config", "export")):
        done = kidshield(config, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        said = " ".join(done.stderr.split())
        assert "upgraded by a newer kidshield (schema 9999_newer" in said, said
        assert "restore the backup" in said
    db = Database.open(any_db_url, migrate=False)
    assert db.current_revision() == "9999_newer"
    db.close()


def test_query_log_rows_lost_to_a_database_that_refuses_writes_are_counted_and_logged_once(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    # another program holds the file's write lock past the 5 s busy timeout (the docs' "a
    # database locked by another program"; a full disk or a read-only file fail the same way)
    writer = served.app.writer
    assert writer is not None
    holder = sqlite3.connect(served.config_path.parent / "kidshield.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for name in ("one.example", "two.example", "three.example"):
            served.query(name)
        served.run(served.app.dns.settle(), timeout=30)
        deadline = time.monotonic() + 20
        while writer.dropped < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert writer.dropped == 3  # what /metrics shows as kidshield_querylog_rows_dropped_total
    failures = [r for r in caplog.records if "query log write failed" in r.getMessage()]
    assert failures and "3 rows lost" in failures[0].getMessage()
    assert "database is locked" in failures[0].getMessage()
    assert all(r.exc_info is None for r in failures)  # one line each, no traceback
    # and the log goes on once the database takes writes again
    served.query("four.example")
    served.pump()
    db = sqlite3.connect(served.config_path.parent / "kidshield.db")
    names = [row[0] for row in db.execute("SELECT name FROM query_log")]
    db.close()
    assert "four.example" in names and "one.example" not in names


def test_a_reload_that_changes_a_start_only_setting_says_a_restart_is_needed(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    text = served.config_path.read_text(encoding="utf-8")
    served.write_config(text.replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:0"\n'
                                     'setup_minutes = 30', 1)
                        + '\n[metrics]\nlisten = "127.0.0.1:0"\nweb = false\n')
    assert served.reload()  # the rest of the file is in force
    said = [r.getMessage() for r in caplog.records if "restart kidshield" in r.getMessage()]
    assert said == ["web.setup_minutes, metrics.listen, metrics.web changed: read at start "
                    "only, restart kidshield to apply"]
    caplog.clear()
    served.write_config(served.config_path.read_text(encoding="utf-8") + "\n# a comment\n")
    assert served.reload()
    assert not [r for r in caplog.records if "restart kidshield" in r.getMessage()]


def test_serve_on_an_unusable_database_says_why_first_not_a_warning(
    tmp_path: Path, upstream: FakeUpstream,
) -> None:
    # a database copied back from a backup with the usual umask (mode 644) that is no
    # SQLite file: the migration (in a child process) fails, and its warning about the
    # mode came first in the error line, the reason only after it
    config = household(tmp_path, upstream)
    db = tmp_path / "kidshield.db"
    db.write_bytes(b"this is not a database" * 100)
    db.chmod(0o644)
    done = kidshield(config, "serve")
    assert done.returncode == 2, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert error.startswith(f"error: {db}: this file is not a usable kidshield database"), error
    assert "chmod 600" not in error
    assert "Traceback" not in done.stderr
    assert db.read_bytes() == b"this is not a database" * 100


def test_serve_says_it_waits_for_a_database_another_program_has_locked(
    tmp_path: Path, upstream: FakeUpstream,
) -> None:
    # docs/storage.md said kidshield waits 5 s; the start's migration waits up to two
    # minutes for the lock, and said nothing meanwhile: the start seemed to hang
    config = household(tmp_path, upstream)
    Database.open(tmp_path / "kidshield.db").close()
    holder = sqlite3.connect(tmp_path / "kidshield.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    server = ServeProcess(config, wait=False)
    try:
        time.sleep(9)
        holder.execute("ROLLBACK")
        holder.close()
        server.wait_ready(timeout=60)
        text = "".join(server.output)
        assert "waiting for the database (up to 120 s): another program holds its lock" in text
        assert text.index("waiting for the database") < text.index("listening:")
        answer = dns.query.udp(dns.message.make_query("fine.example", "A"), "127.0.0.1",
                               port=server.ports["udp"], timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR and answer.answer
    finally:
        server.stop()


def test_a_write_the_database_refuses_is_503_with_its_reason_not_500(
    served: Served, caplog: pytest.LogCaptureFixture,
) -> None:
    # on a full disk, signing in was "500 something went wrong" with a traceback in the log
    # for every request; a lock held by another program fails the same way, and a test can
    # hold one
    client, csrf = served.parent()
    holder = sqlite3.connect(served.config_path.parent / "kidshield.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        refused = client.post("/api/v1/pause", json={"profile": "leo", "minutes": 30},
                              headers=csrf, timeout=30)
        page = served.client().post("/api/v1/login", timeout=30,
                                    json={"name": "Alex", "password": PASSWORD})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for answer in (refused, page):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "unavailable"
        assert answer.json()["detail"] == ("the database cannot be written just now "
                                           "(database is locked); try again later")
        assert answer.headers["Retry-After"] == "30"
    failures = [r for r in caplog.records if "failed: database:" in r.getMessage()]
    assert [r.getMessage() for r in failures] == [
        "POST /api/v1/pause failed: database: database is locked",
        "POST /api/v1/login failed: database: database is locked"]
    assert all(r.exc_info is None for r in failures)
    again = client.post("/api/v1/pause", json={"profile": "leo", "minutes": 30}, headers=csrf)
    assert again.status_code == 200, again.text


def test_a_resolver_without_the_web_part_answers_healthz_on_its_metrics_listener(
    serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
) -> None:
    # `kidshield serve --no-web` with [metrics] listen: /healthz was a 404 there, so the
    # load balancer or monitor of an ISP's DNS-only node had no health check to ask
    write_lists(tmp_path)
    text = config_text(upstream.port) + '\n[metrics]\nlisten = "127.0.0.1:0"\nweb = false\n'
    served = serve_config(text, web=False)
    port = served.bound("metrics")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        health = http.get("/healthz")  # public, like the web listener's: no counts in it
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        assert ["udp", "127.0.0.1", served.dns_port] in health.json()["listening"]
        assert http.get("/metrics").status_code == 401  # the counts still need a token
        assert http.get("/other").status_code == 404


@pytest.mark.parametrize("engine", ["rpz", "unbound"])
def test_an_export_to_a_file_instead_of_a_folder_is_a_clear_error(
    tmp_path: Path, upstream: FakeUpstream, engine: str,
) -> None:
    # fleet.md's `kidshield export rpz --out /etc/unbound/kidshield`, with a typo that names
    # an existing file: it was a FileExistsError traceback
    config = household(tmp_path, upstream)
    target = tmp_path / "unbound.conf"
    target.write_text("# the operator's own file\n", encoding="utf-8")
    done = kidshield(config, "export", engine, "--out", str(target))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert f"error: --out {target}: that is a file; name a folder for the export" in said, said
    assert target.read_text(encoding="utf-8") == "# the operator's own file\n"


@pytest.mark.parametrize(("storage", "said"), [
    ("{folder}", "{folder}: this is a folder; [server] storage names the database file in it, "
                 "e.g. {folder}/kidshield.db"),
    ("mysql://kid:secret@127.0.0.1/kid",
     "{folder}/kidshield.toml:5 server.storage: mysql:// is not a database kidshield uses"),
    ("postgresql+pg8000://kid:secret@127.0.0.1/kid",
     "postgresql+pg8000://kid:***@127.0.0.1/kid: no database driver for this URL"),
])
def test_a_storage_setting_kidshield_cannot_use_stops_the_start_clearly(
    tmp_path: Path, upstream: FakeUpstream, storage: str, said: str,
) -> None:
    # storage.md's table: a file path or a postgresql URL. A folder gave "unable to open
    # database file" after a warning to chmod the folder; another scheme or a driver that is
    # not installed, a traceback
    config = household(tmp_path, upstream, storage.format(folder=tmp_path))
    done = kidshield(config, "serve")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "secret" not in done.stderr
    text = " ".join(done.stderr.split())
    assert f"error: {said.format(folder=tmp_path)}" in text, text
