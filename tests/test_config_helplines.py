"""An operator's own helplines: ``[[helplines]]`` in the configuration adds a local service or
corrects a shipped entry (same id), validated like the rest of the file (``file:line key``),
exempt from every block, shown to children, and watched by ``config check`` for staleness."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app
from kidshield.config import load_config, own_helplines, parse_config
from kidshield.errors import ConfigError
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import HelplineBook, Kind, Topic
from kidshield.policy.model import Query
from kidshield.policy.reason import Reason
from kidshield.policy.state import EMPTY_STATE
from kidshield.runtime import PolicyRuntime

LOCAL = """\
[server]
country = "GB"

[profiles.mia]
age_band = "9-12"
deny = ["school-counselling.example"]

[[helplines]]
id = "gb-school-counselling"
country = "GB"
kind = "child"
name = "Our school's counsellors"
phone = "01632 960 000"
hours = "Mon-Fri 08:30-16:00"
ages = "11-18"
languages = ["en", "cy"]
url = "https://school-counselling.example"
domains = ["school-counselling.example"]
checked = 2026-11-20

[[helplines]]
id = "gb-childline"
hours = "24/7, and chat 09:00-00:00"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="k.toml")
    return info.value.problems


def test_a_local_service_is_added_and_a_shipped_entry_corrected() -> None:
    config = parse_config(LOCAL, "k.toml")
    own = own_helplines(config)
    local, corrected = own
    assert (local.id, local.kind, local.phone, str(local.ages)) == (
        "gb-school-counselling", Kind.CHILD, "01632 960 000", "11-18")
    assert local.where == "k.toml:8" and local.checked == "2026-11-20"
    shipped = next(h for h in default_catalog().helplines if h.id == "gb-childline")
    assert corrected.hours == "24/7, and chat 09:00-00:00"
    assert (corrected.name, corrected.phone, corrected.url) == (
        shipped.name, shipped.phone, shipped.url)  # what was not written is kept


def test_a_local_service_is_exempt_from_every_block_and_shown_to_the_child() -> None:
    runtime = PolicyRuntime.build(parse_config(LOCAL, "k.toml"))
    mia = runtime.profiles["mia"]
    night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # bedtime, and on mia's own deny list
    decision = runtime.engine.decide(Query("www.school-counselling.example"), mia, night,
                                     EMPTY_STATE)
    assert (decision.reason, decision.detail) == (
        Reason.HELPLINE, {"helpline": "Our school's counsellors"})
    book = HelplineBook(tuple(runtime.catalog.helplines), "GB")
    shown = [h.id for h in book.for_profile(mia, night, Topic.GENERAL)]
    assert shown[:2] == ["gb-childline", "gb-school-counselling"]  # both child lines, file order
    assert [h.hours for h in runtime.catalog.helplines if h.id == "gb-childline"] == [
        "24/7, and chat 09:00-00:00"]
    assert len(runtime.catalog.helplines) == len(default_catalog().helplines) + 1
    assert default_catalog().helplines[0] is runtime.catalog.helplines[0]  # shared, not copied


def test_bad_entries_are_reported_with_file_line_and_key() -> None:
    text = """\
[server]
country = "GB"

[[helplines]]
id = "gb-local"
country = "UK"
name = "Local"
phone = "call us"
languages = ["welsh"]

[[helplines]]
id = "zz-new"
url = "https://new.example"
chat = "not a url"

[[helplines]]
id = "gb-local"
country = "GB"
name = "Twice"
colour = "green"
"""
    found = problems(text)
    assert found[0] == ("k.toml:6 helplines[0].country: 'UK' is not an ISO 3166-1 country "
                        "code like 'GB' (or '*' for a service that works from anywhere)")
    assert found[1].startswith("k.toml:8 helplines[0].phone: 'call us' is not a phone number")
    assert found[2].startswith("k.toml:9 helplines[0].languages[0]: 'welsh' is not a language")
    assert any(p.startswith("k.toml:14 helplines[1].chat") for p in found)
    assert any(p.startswith("k.toml:20 helplines[2].colour: unknown setting (valid here: ages, "
                            "chat, checked, country, domains") for p in found)


def test_a_new_id_must_say_its_country_and_name_and_ids_are_unique() -> None:
    text = """\
[[helplines]]
id = "zz-new"
url = "https://new.example"

[[helplines]]
id = "gb-childline"
phone = "0800 1111"

[[helplines]]
id = "gb-childline"
hours = "24/7"
"""
    assert problems(text) == [
        "k.toml:1 helplines[0].country: this key is required",
        "k.toml:1 helplines[0].name: this key is required",
        "k.toml:10 helplines[2].id: 'gb-childline' is already used by helplines[1]",
    ]


def test_config_check_warns_about_entries_not_checked_for_too_long(tmp_path: Path) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text(LOCAL.replace("checked = 2026-11-20", "checked = 2019-03-01"),
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.stderr
    err = " ".join(result.stderr.split())
    assert (f"{path}:8 helpline 'gb-school-counselling' (Our school's counsellors) was last "
            "checked 2019-03-01, more than 12 months ago") in err
    # the corrected shipped entry was not given a date: the shipped one still counts
    assert "gb-childline" not in err
    path.write_text(path.read_text(encoding="utf-8").replace(
        'country = "GB"\n', 'country = "GB"\nhelpline_max_age_months = 0\n', 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0 and "helpline" not in result.stderr


def test_helplines_command_lists_what_a_child_sees_first(tmp_path: Path) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text(LOCAL, encoding="utf-8")
    result = CliRunner().invoke(app, ["helplines", "-c", str(path), "--topic", "sextortion",
                                      "--age", "14"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    assert rows[0].split("│")[1].strip() == "gb-ceop"
    assert rows[1].split("│")[1].strip() == "world-take-it-down"
    assert "gb-school-counselling" in result.stdout
    bad = CliRunner().invoke(app, ["helplines", "--country", "XX"])
    assert bad.exit_code != 0


def test_config_file_round_trip_keeps_helplines(tmp_path: Path) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text(LOCAL, encoding="utf-8")
    config = load_config(path)
    assert [h.id for h in config.helplines] == ["gb-school-counselling", "gb-childline"]
