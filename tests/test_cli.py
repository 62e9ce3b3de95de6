"""The command line, through typer's CliRunner (``app``) and the real entry point (``main``)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield import catalog_cache, cli
from kidshield import runtime as runtime_module
from kidshield.cli import app
from kidshield.storage.db import Database
from kidshield.storage.state_sql import SqlStateStore
from tests.policy.helpers import small_catalog

CONFIG = """\
[server]
timezone = "Europe/London"
storage = "ks.db"
data_dir = "data"

[[lists]]
name = "adult"
source = "adult.txt"
category = "adult"

[profiles.mia]
name = "Mia"
age_band = "9-12"
allow = ["khanacademy.org"]

[profiles.sam]
name = "Sam"
age_band = "16-17"
budgets = { youtube = 60 }
"""


@pytest.fixture(autouse=True)
def catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its runtime with the shipped catalog; use the small test one instead."""
    monkeypatch.setattr(runtime_module, "default_catalog", small_catalog)
    monkeypatch.setattr(catalog_cache, "shipped_catalog", lambda folder: small_catalog())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "adult.txt").write_text("porn.example\nbad entry\n", encoding="utf-8")
    path = tmp_path / "kidshield.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             *args: str) -> tuple[int, str, str]:
    """The installed ``kidshield`` entry point, in-process."""
    monkeypatch.setattr(sys, "argv", ["kidshield", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(config: Path, *args: str) -> dict[str, object]:
    code, out, err = run("check", "--json", "-c", str(config), *args)
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


# -- init and config check ---------------------------------------------------------------------

def test_init_writes_a_config_that_config_check_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "etc" / "kidshield.toml"
    code, out, _ = run("init", str(path))
    assert code == 0
    assert "config check" in out
    monkeypatch.chdir(tmp_path)
    code, out, err = run("config", "check", str(path))
    assert code == 0, err
    summary = " ".join(out.split())
    assert "OK (3 profiles, 2 clients, 7 lists + 14 built-in, " in summary
    # the shipped lists provide every category the bands block, so none is an empty promise
    assert "no list provides" not in err
    # the example's download lists wait for the first 'lists update' and say so
    assert "has not been downloaded yet" in err


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text("# mine\n", encoding="utf-8")
    code, _, err = run("init", str(path))
    assert code == 2
    assert "already exists (use --force to overwrite it)" in err
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert run("init", "--force", str(path))[0] == 0
    assert "[profiles.mia]" in path.read_text(encoding="utf-8")


def test_config_check_prints_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\ntimezone = "Mars"\n\n[profiles.mia]\nage_band = "9-12"\n'
                    'bedtime = "25:00"\nwake_up = "07:00"\n', encoding="utf-8")
    code, _, err = run("config", "check", str(path))
    assert code == 1
    assert f"{path}:2 server.timezone: 'Mars' is not an IANA time zone" in err
    assert f"{path}:6 profiles.mia.bedtime: '25:00' is not a time (HH:MM)" in err
    assert "2 problem(s)" in err
    assert "Traceback" not in err


def test_config_check_warns_about_bad_list_lines_and_unknown_services(config: Path) -> None:
    text = config.read_text(encoding="utf-8") + 'blocked_services = ["tiktok", "tikotk"]\n'
    config.write_text(text, encoding="utf-8")
    code, out, err = run("config", "check", str(config))
    assert code == 0
    assert "unknown service 'tikotk'" in err
    assert "list adult: 1 rules, 1 bad lines" in err
    assert "adult.txt:2: 'bad entry'" in " ".join(err.split())
    assert "OK (2 profiles, 0 clients, 1 lists + 14 built-in, " in " ".join(out.split())


def test_config_check_warns_about_blocked_categories_that_no_list_provides(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text(
        '[server]\nbuiltin_lists = false\ndefault_profile = "kid"\n\n'
        '[profiles.kid]\nage_band = "9-12"\nextra_blocked_categories = ["gaming"]\n',
        encoding="utf-8")
    code, _out, err = run("config", "check", str(path))
    assert code == 0
    err = " ".join(err.split())
    assert (f"{path}:5 profiles.kid: blocks category 'adult', but no list provides it, so "
            "nothing is blocked for it (add a [[lists]] block with this category, or set "
            "builtin_lists = true under [server])") in err
    assert f"{path}:7 profiles.kid: blocks category 'gaming'" in err
    assert "'reported'" not in err

    path.write_text(path.read_text(encoding="utf-8").replace("false", "true"), encoding="utf-8")
    code, _out, err = run("config", "check", str(path))
    err = " ".join(err.split())
    assert "blocks category 'adult'" not in err
    assert "blocks category 'gaming', but no list provides it" in err


# -- check --------------------------------------------------------------------------------------

def test_check_json_fields(config: Path) -> None:
    data = check_json(config, "WWW.Porn.Example.", "-p", "mia", "--at", "2026-12-01T15:00")
    assert data == {
        "name": "www.porn.example",
        "profile": "mia",
        "at": "2026-12-01T15:00:00+00:00",
        "action": "block",
        "reason": "category",
        "rule": "porn.example",
        "source": {"list": "adult", "file": str(config.parent / "adult.txt"), "line": 1},
        "valid_until": "2026-12-01T21:00:00+00:00",
        "target": None,
        "category": "adult",
        "service": None,
        "band": "9-12",
    }


def test_check_at_is_local_to_the_profile_unless_an_offset_is_given(config: Path) -> None:
    summer = check_json(config, "example.org", "-p", "mia", "--at", "2026-07-01T21:30")
    assert summer["at"] == "2026-07-01T20:30:00+00:00"  # BST
    offset = check_json(config, "example.org", "-p", "mia", "--at", "2026-12-01T21:30-05:00")
    assert offset["at"] == "2026-12-02T02:30:00+00:00"
    assert offset["reason"] == "bedtime"


def test_check_usage_triggers_the_daily_budget(config: Path) -> None:
    at = ("--at", "2026-12-01T15:00")
    fresh = check_json(config, "www.youtube.com", "-p", "sam", *at)
    assert (fresh["action"], fresh["reason"]) == ("allow", "allowed")
    assert fresh["valid_until"] == "2026-12-01T16:00:00+00:00"
    used = check_json(config, "www.youtube.com", "-p", "sam", "--usage", "youtube=70", *at)
    assert (used["action"], used["reason"], used["service"]) == ("block", "budget", "youtube")
    assert used["rule"] == "youtube 60 min/day"
    assert used["detail"] == {"used_minutes": 70.0}
    assert used["valid_until"] == "2026-12-02T00:00:00+00:00"


def test_check_reads_todays_usage_from_the_database(config: Path) -> None:
    db = Database.open(config.parent / "ks.db")
    SqlStateStore(db).add_minutes({("sam", "youtube", date(2026, 12, 1), m)
                                   for m in range(600, 665)})  # 65 minutes from 10:00
    db.close()
    args = ("www.youtube.com", "-p", "sam", "--at", "2026-12-01T15:00")
    assert check_json(config, *args)["reason"] == "budget"
    assert check_json(config, *args, "--no-state")["reason"] == "allowed"


def test_check_human_output(config: Path) -> None:
    code, out, _ = run("check", "-c", str(config), "khanacademy.org", "-p", "mia", "--at",
                       "2026-12-01T22:00")
    assert code == 0
    assert "decision: allow" in out
    assert "reason:   allow_list" in out
    assert "rule:     khanacademy.org" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name!", "-p", "mia"), "'bad name!' is not a valid domain name"),
        (("example.org", "-p", "mia", "--at", "tomorrow"),
         "--at 'tomorrow' is not a date and time like 2026-12-01T21:30"),
        (("example.org", "-p", "nobody"), "no profile named 'nobody' (profiles: mia, sam)"),
        (("example.org", "-p", "sam", "--usage", "youtube"),
         "--usage 'youtube': expected SERVICE=MINUTES"),
        (("example.org", "-p", "sam", "--usage", "youtube=lots"),
         "--usage 'youtube=lots': expected SERVICE=MINUTES"),
        (("example.org", "-p", "sam", "--usage", "nope=5"),
         "--usage 'nope=5': unknown service 'nope' (see 'kidshield services')"),
    ],
    ids=["bad-name", "bad-at", "unknown-profile", "usage-no-value", "usage-not-a-number",
         "usage-unknown-service"],
)
def test_check_bad_input_exits_non_zero_with_a_clear_message(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...], message: str,
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "check", "-c", str(config), *args)
    assert code == 2
    assert out == ""
    assert " ".join(err.split()) == f"error: {message}"


def test_config_check_on_a_file_that_is_not_toml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[server]\ntimezone = "Europe/London"\ncountry = ', encoding="utf-8")
    code, _, err = run("config", "check", str(path))
    assert code == 1
    assert f"{path}:3:11: not valid TOML: Invalid value\n" in err


def test_check_with_a_missing_config_file_exits_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "check", "-c", str(tmp_path / "none.toml"),
                            "example.org", "-p", "mia")
    assert code == 2
    assert "no such file (create one with 'kidshield init" in " ".join(err.split())


def test_entry_point_in_a_real_process_prints_no_traceback(config: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kidshield", "check", "-c", str(config), "bad name!", "-p", "mia"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert "error: 'bad name!' is not a valid domain name" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- lists ----------------------------------------------------------------------------------------

@pytest.fixture
def dead_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}/list.txt"


def test_lists_update_reports_local_and_failed_sources(config: Path, dead_url: str) -> None:
    text = config.read_text(encoding="utf-8").replace(
        "[profiles.mia]",
        f'[[lists]]\nname = "remote"\nsource = "{dead_url}"\ncategory = "adult"\n\n'
        "[profiles.mia]",
    )
    config.write_text(text, encoding="utf-8")
    code, out, _ = run("lists", "update", "-c", str(config))
    assert code == 1
    assert "local" in out and "failed" in out
    code, out, err = run("lists", "show", "-c", str(config))
    assert code == 0
    assert "adult" in out
    assert "list 'remote' has not been downloaded yet" in " ".join(err.split())


def test_check_with_a_damaged_database_exits_with_a_clear_message(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = config.parent / "ks.db"
    db.write_bytes(b"not a database at all" * 100)
    code, _, err = run_main(monkeypatch, capsys, "check", "-c", str(config), "example.org",
                              "-p", "mia")
    assert code == 2
    assert "not a usable kidshield database" in " ".join(err.split())
    assert "Traceback" not in err
    assert db.read_bytes() == b"not a database at all" * 100
