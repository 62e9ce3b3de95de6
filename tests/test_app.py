"""The composition root: configuration in, a runtime that picks profiles and decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.config import parse_config
from kidshield.errors import InputError
from kidshield.policy.model import Query
from kidshield.policy.reason import Reason
from kidshield.policy.state import EMPTY_STATE
from kidshield.runtime import PolicyRuntime
from tests.policy.helpers import LONDON, local, small_catalog

CONFIG = """
[server]
timezone = "America/New_York"

[[lists]]
name = "bad"
source = "bad.txt"
category = "malware"

[profiles.mia]
age_band = "9-12"
timezone = "Europe/London"

[[clients]]
name = "tablet"
profile = "mia"
addresses = ["192.168.1.23"]
"""


def runtime(tmp_path: Path) -> PolicyRuntime:
    (tmp_path / "bad.txt").write_text("malware.example\n", encoding="utf-8")
    return PolicyRuntime.build(parse_config(CONFIG, base_dir=tmp_path), small_catalog())


def test_unknown_client_without_default_profile_gets_adult_filtering(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    prof = rt.profile_for_client("10.1.2.3")
    assert prof is rt.fallback
    assert str(prof.tz) == "America/New_York"
    now = local(LONDON, 2026, 12, 1, 23, 0)
    d = rt.engine.decide(Query("malware.example"), prof, now, EMPTY_STATE)
    assert (d.reason, d.band) == (Reason.CATEGORY, "adult")
    d = rt.engine.decide(Query("example.org"), prof, now, EMPTY_STATE)
    assert d.reason is Reason.ALLOWED


def test_known_client_gets_its_profile_in_its_own_time_zone(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    prof = rt.profile_for_client("192.168.1.23")
    assert (prof.id, str(prof.tz)) == ("mia", "Europe/London")
    d = rt.engine.decide(Query("example.org"), prof, local(LONDON, 2026, 12, 1, 23, 0),
                         EMPTY_STATE)
    assert d.reason is Reason.BEDTIME


def test_unknown_profile_id_is_an_input_error_naming_the_profiles(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no profile named 'leo' \(profiles: mia\)"):
        runtime(tmp_path).profile("leo")
