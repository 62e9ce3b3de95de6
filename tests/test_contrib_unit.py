"""The systemd unit docs/deploying.md installs: systemd accepts it, it keeps what kidshield
writes to its own user (UMask) and its hardening does not slip back (session 16 walk)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "contrib" / "kidshield.service"


def test_the_unit_runs_as_its_own_user_with_a_private_umask_and_the_documented_paths() -> None:
    text = UNIT.read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
    assert settings["User"] == "kidshield"
    assert settings["UMask"] == "0077"
    assert settings["ExecStart"].startswith("/opt/kidshield/.venv/bin/kidshield serve "
                                            "--config /etc/kidshield/kidshield.toml")
    assert settings["ReadWritePaths"] == "/var/lib/kidshield"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit_and_rates_its_exposure_ok(tmp_path: Path) -> None:
    # verify wants ExecStart to exist: the same unit with a binary that does
    unit = tmp_path / "kidshield.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(
        "/opt/kidshield/.venv/bin/kidshield", "/bin/true"), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                          capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r"exposure level for kidshield.service: ([\d.]+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 4.0  # 6.2 "MEDIUM" before session 16
