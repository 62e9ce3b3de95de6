"""The shipped helplines kept checked in the data folder (kidshield/catalog_cache.py): the same
entries as reading the file, read again when the file changes, never kept when it is bad."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kidshield.catalog_cache import PREFIX, read_helplines, shipped_catalog
from kidshield.policy.catalog import DATA_DIR, load_catalog
from kidshield.policy.helpline_data import HelplineDataError, read_file


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the shipped data files, to edit."""
    return Path(shutil.copytree(DATA_DIR, tmp_path / "data"))


def kept(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{PREFIX}*.json"))


def test_the_kept_copy_gives_exactly_the_entries_of_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    first = shipped_catalog(folder)
    assert len(kept(folder)) == 1
    again = shipped_catalog(folder)  # from the kept copy
    expected = load_catalog()
    assert again.helplines == first.helplines == expected.helplines
    assert [h.where for h in again.helplines] == [h.where for h in expected.helplines]
    assert again.helpline_index.match("www.childline.org.uk") is not None
    assert again.helpline_index.match("www.childline.org.uk") == (
        expected.helpline_index.match("www.childline.org.uk"))


def test_an_edited_file_is_read_again_and_only_its_copy_is_kept(data: Path,
                                                                tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    path = data / "helplines.toml"
    before = read_helplines(path, folder)
    old = kept(folder)
    text = path.read_text(encoding="utf-8")
    name = before[0].name
    path.write_text(text.replace(f'name = "{name}"', 'name = "Renamed line"', 1),
                    encoding="utf-8")
    after = read_helplines(path, folder)
    assert after[0].name == "Renamed line"
    assert after[1:] == before[1:]
    assert len(kept(folder)) == 1 and kept(folder) != old
    assert read_helplines(path, folder) == after == read_file(path)


def test_a_bad_file_fails_with_its_line_even_after_a_good_one_was_kept(
        data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    path = data / "helplines.toml"
    read_helplines(path, folder)
    good = kept(folder)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("phone = "))
    lines[at] = 'phone = "call us"\n'
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(HelplineDataError) as caught:
        read_helplines(path, folder)
    assert f"{path}:{at + 1} phone:" in str(caught.value)
    assert kept(folder) == good  # nothing kept for the bad file


def test_a_damaged_copy_is_reported_ignored_and_replaced(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "cache"
    path = DATA_DIR / "helplines.toml"
    expected = read_helplines(path, folder)
    good = json.loads(kept(folder)[0].read_text(encoding="utf-8"))
    # well-formed JSON with the wrong types: a string is not a tuple of its letters, a
    # number is not a country, an unknown kind is not a kind
    wrong_types = [[{**good[0], "domains": good[0]["domains"][0]}, *good[1:]],
                   [{**good[0], "country": 5}, *good[1:]],
                   [*good[:-1], {**good[-1], "kind": "nonsense"}]]
    damaged = ["{not json", '[{"id": "x"}]', "[", b"\xff\xfe".decode("latin-1"),
               *(json.dumps(items) for items in wrong_types)]
    for damage in damaged:
        copy = kept(folder)[0]
        copy.write_text(damage, encoding="utf-8")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="kidshield.catalog_cache"):
            again = read_helplines(path, folder)
        assert again == expected, damage
        assert [h.where for h in again] == [h.where for h in expected]
        assert [r.getMessage().split(":")[0] for r in caplog.records] == [str(copy)], damage
        assert "unusable, reading the file again" in caplog.text
        assert json.loads(kept(folder)[0].read_text(encoding="utf-8")) == good  # replaced
    caplog.clear()
    assert read_helplines(path, folder) == expected
    assert not caplog.records  # a good copy is read quietly


def test_a_folder_that_cannot_be_written_reads_the_file(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    assert read_helplines(DATA_DIR / "helplines.toml", blocked / "cache") == read_file(
        DATA_DIR / "helplines.toml")


def test_kidshield_check_keeps_the_copy_beside_the_list_index(tmp_path: Path) -> None:
    config = tmp_path / "kidshield.toml"
    config.write_text('[server]\ndata_dir = "data"\n\n[profiles.kid]\nage_band = "9-12"\n',
                      encoding="utf-8")
    cmd = [sys.executable, "-m", "kidshield", "check", "-c", str(config), "-p", "kid",
           "--no-state", "--json", "--at", "2026-12-01T15:00", "www.childline.org.uk"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
    assert len(kept(tmp_path / "data" / "index-cache")) == 1
    again = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
    decision = json.loads(again.stdout)
    assert decision == json.loads(first.stdout)
    assert decision["action"] == "allow" and decision["reason"] == "helpline"
