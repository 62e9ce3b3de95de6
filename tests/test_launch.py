"""`kidshield serve` starts itself again (`python -m kidshield`): that process must import the
installed kidshield, not whatever the current folder holds. Found on the README walk (session
14): `scripts/serve` runs from the checkout, so the restarted server imported the checkout's
plain-Python sources, never the install's compiled DNS path, and a stray file named like a
module in the folder would have been imported in its place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND = Path(sys.executable).with_name("kidshield")


def test_serve_started_from_a_folder_with_a_decoy_package_runs_the_real_kidshield(
        tmp_path: Path) -> None:
    if not COMMAND.exists():
        pytest.skip("the kidshield command is not installed beside this Python")
    decoy = tmp_path / "kidshield"
    decoy.mkdir()
    (decoy / "__init__.py").write_text(
        'import sys\nprint("decoy kidshield imported")\nsys.exit(7)\n', encoding="utf-8")
    # a configuration the real server refuses at once with its own error line
    (tmp_path / "bad.toml").write_text('[server]\ntimezone = "Mars/Base"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([str(COMMAND), "serve", "-c", "bad.toml"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert "decoy" not in proc.stdout + proc.stderr
    assert proc.returncode == 2
    assert "bad.toml:2 server.timezone: 'Mars/Base' is not an IANA time zone" in proc.stderr
