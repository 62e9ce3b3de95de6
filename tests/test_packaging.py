"""The built wheel is what users install: every file of the package (schemas, shipped lists,
templates, translations, models) must be in it, and its metadata must carry the SPDX licence."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _package_files() -> set[str]:
    """Files under kidshield/ that belong to the package (not caches)."""
    files = set()
    for path in (ROOT / "kidshield").rglob("*"):
        if (path.is_file() and "__pycache__" not in path.parts
                and path.suffix not in (".pyc", ".so", ".pyd")):  # built, not shipped as is
            files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # no build isolation: the test environment already has setuptools (>= 77, see the
    # [test] extra), so building needs no download
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
        # the files are the point here, not mypyc's minutes (tests/test_native.py)
        env={**os.environ, "KIDSHIELD_MYPYC": "0"},
    )
    (found,) = out.glob("kidshield-*.whl")
    return found


def test_wheel_holds_every_package_file_including_schemas(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    expected = _package_files()
    schemas = {f for f in expected if f.endswith((".xsd", ".json")) and "/schemas/" in f}
    assert any(f.endswith(".xsd") for f in schemas), "the escalation XSD should exist"
    missing = sorted(expected - names)
    assert missing == [], f"files missing from the wheel: {missing}"


def test_wheel_metadata_names_the_licence_as_an_spdx_expression(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode())
        names = zf.namelist()
    assert meta["License-Expression"] == "Apache-2.0"
    assert any(n.endswith("licenses/LICENSE") for n in names)
