"""A moderator's decision on an under- or over-blocking report changes what the resolver
decides: the reports lists in the data folder join the configured lists."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kidshield.config import parse_config
from kidshield.policy.model import Query
from kidshield.policy.reason import Action, Reason
from kidshield.policy.state import ProfileState
from kidshield.reports.lists import OwnLists, add_domain
from kidshield.runtime import PolicyRuntime

CONFIG = """
[server]
data_dir = "data"
[[lists]]
name = "adult"
source = "adult.txt"
category = "adult"
[profiles.mia]
age_band = "9-12"
bedtime = "off"
[profiles.dad]
age_band = "adult"
"""
AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _decide(tmp_path: Path, profile: str, name: str) -> tuple[Action, Reason, str | None]:
    config = parse_config(CONFIG, base_dir=tmp_path)
    runtime = PolicyRuntime.build(config)
    d = runtime.engine.decide(Query(name), runtime.profile(profile), AT, ProfileState())
    return d.action, d.reason, d.category


def test_under_blocking_decision_blocks_the_domain_for_every_profile(tmp_path: Path) -> None:
    (tmp_path / "adult.txt").write_text("wrongly.example\n")
    own = OwnLists.in_folder(tmp_path / "data")
    assert _decide(tmp_path, "mia", "scam.example")[0] is Action.ALLOW
    add_domain(own.block_list, "scam.example", "block")
    assert _decide(tmp_path, "mia", "www.scam.example") == (Action.BLOCK, Reason.CATEGORY,
                                                            "reported")
    assert _decide(tmp_path, "dad", "scam.example")[0] is Action.BLOCK


def test_over_blocking_decision_opens_a_listed_domain(tmp_path: Path) -> None:
    (tmp_path / "adult.txt").write_text("wrongly.example\n")
    own = OwnLists.in_folder(tmp_path / "data")
    assert _decide(tmp_path, "mia", "wrongly.example")[0] is Action.BLOCK
    add_domain(own.allow_list, "wrongly.example", "allow")
    assert _decide(tmp_path, "mia", "wrongly.example")[0] is Action.ALLOW
