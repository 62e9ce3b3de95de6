"""``kidshield check`` keeps the built list index and maps it on later calls (issue 17 item 4);
a changed list is never answered from a stale index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """
[server]
storage = "ks.db"
data_dir = "data"

[[lists]]
name = "big"
source = "big.txt"
category = "adult"

[profiles.mia]
age_band = "9-12"
"""


def check(config: Path, *names: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "kidshield", "check", "--json", "-c", str(config), "-p", "mia",
         "--at", "2026-12-02T12:00", *names],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "big.txt").write_text("".join(f"listed-{i}.example\n" for i in range(5000)))
    path = tmp_path / "kidshield.toml"
    path.write_text(CONFIG)
    return path


def cache_files(config: Path) -> dict[str, int]:
    folder = config.parent / "data" / "index-cache"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.idx")}


def test_second_check_maps_the_saved_index_instead_of_parsing_again(config: Path) -> None:
    first = check(config, "listed-7.example", "www.listed-4999.example", "other.example")
    assert [d["action"] for d in first] == ["block", "block", "allow"]
    saved = cache_files(config)
    assert len(saved) == 1
    seed = (config.parent / "data" / "index-cache" / "seed").read_text()
    assert seed.strip().isdigit()
    second = check(config, "listed-7.example", "www.listed-4999.example", "other.example")
    assert second == first
    assert cache_files(config) == saved  # used, not rebuilt
    assert first[0]["source"] == {"list": "big", "file": str(config.parent / "big.txt"),
                                  "line": 8}


def test_a_changed_list_is_read_again_not_answered_from_the_old_index(config: Path) -> None:
    check(config, "listed-1.example")
    before = cache_files(config)
    with (config.parent / "big.txt").open("a") as fh:
        fh.write("newly-listed.example\n")
    assert check(config, "newly-listed.example")[0]["action"] == "block"
    after = cache_files(config)
    assert after.keys() != before.keys()  # a new index for the new lists; the old one gone
    (config.parent / "big.txt").write_text("only-this.example\n")
    result = check(config, "listed-1.example", "only-this.example")
    assert [d["action"] for d in result] == ["allow", "block"]


def test_a_damaged_cache_is_rebuilt(config: Path) -> None:
    check(config, "listed-1.example")
    for path in (config.parent / "data" / "index-cache").glob("*.meta"):
        path.write_bytes(b"garbage")
    assert check(config, "listed-1.example")[0]["action"] == "block"
    for path in (config.parent / "data" / "index-cache").glob("*.idx"):
        path.write_bytes(b"garbage")
    assert check(config, "listed-2.example")[0]["action"] == "block"
