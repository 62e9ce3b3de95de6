"""The built wheel is what users install: every file of the package (schemas, shipped lists,
templates, translations, models) must be in it, and its metadata must carry the SPDX licence."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.processes import end

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
    # from a copy without build output: setuptools builds into build/ and puts whatever an
    # earlier build left there into the wheel too (a module since deleted, a stray folder)
    source = tmp_path_factory.mktemp("source") / "kidshield"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.so"))
    # no build isolation: the test environment already has setuptools (>= 77, see the
    # [test] extra), so building needs no download
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
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


# What a user's install opens at run time, by kind: a wheel without one of them installs fine
# and fails on first use (or, for the attribution, ships weights without the credit their
# licences ask for)
NEEDED = {
    "text model weights": "kidshield/safety/text/models/weights.npz",
    "text model vocabulary": "kidshield/safety/text/models/vocab.txt",
    "profanity table": "kidshield/safety/text/models/profanity.npz",
    "lexicon": "kidshield/safety/text/data/en/",
    "helpline data": "kidshield/policy/data/",
    "shipped block lists": "kidshield/lists/data/",
    "migrations": "kidshield/storage/migrations/versions/",
    "alembic environment": "kidshield/storage/migrations/env.py",
    "templates": "kidshield/web/templates/",
    "static files": "kidshield/web/static/",
    "translations (.po, compiled at start)": "kidshield/web/locale/ar/LC_MESSAGES/children.po",
    "lessons": "kidshield/education/data/lessons/",
    "escalation schemas": "kidshield/reports/schemas/",
    "licence": ".dist-info/licenses/LICENSE",
    "attribution of the model's data sets": ".dist-info/licenses/NOTICE",
    "the profanity table's licence": "kidshield/safety/text/models/profanity-LICENSE.txt",
}


def test_wheel_holds_what_an_install_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    missing = [kind for kind, part in NEEDED.items() if not any(
        (n.startswith(part) if not part.startswith(".") else part in n) and not n.endswith("/")
        for n in names)]
    assert missing == [], f"not in the wheel: {missing}"
    # nothing but the package: a folder beside it in the checkout (a data folder a bench run
    # left, "kidshield-data") must not land in the user's site-packages
    assert {n.split("/", 1)[0] for n in names} == {"kidshield", wheel.name.split("-py")[0]
                                                   + ".dist-info"}


Installed = tuple[Path, Path, dict[str, str]]  # the venv, a folder outside the checkout, env


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel in a fresh virtual environment, installed with no index and no dependencies
    (they come from this test environment: a .pth file names its site-packages, so no
    download), and a folder that is not the checkout to run it from: what works there works
    because the wheel holds it, not because the source tree is next door."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, capture_output=True, timeout=60)
    python = venv / "bin" / "python"
    (site_dir,) = (venv / "lib").glob("python3*/site-packages")
    # without PYTHONPATH (the tests run with the checkout on it): pip would take the
    # checkout's kidshield for an installed one and install nothing
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["COLUMNS"] = "200"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=60, env=env)
    # then the dependencies (after the install: pip would take this environment's kidshield
    # for an installed one). A folder a .pth file names gets no .pth files of its own run,
    # so the editable install's finder there does not put the checkout back in reach
    import site

    (site_dir / "test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    work = root / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import kidshield; print(kidshield.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site_dir)), where.stdout  # the wheel's copy, not ROOT
    return venv, work, env


def test_the_installed_command_scans_messages_outside_the_source_tree(
    installed: Installed,
) -> None:
    venv, work, env = installed

    def run(*args: str) -> str:
        done = subprocess.run([str(venv / "bin" / "kidshield"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "scan" in run("--help")
    (work / "messages.jsonl").write_text(
        '{"id": 1, "text": "my number is 07700 900123", "sender": 12}\n'
        '{"id": 2, "text": "i want to die"}\n', encoding="utf-8")
    rows = [json.loads(line) for line in run("scan", "--redact", "messages.jsonl").splitlines()]
    assert rows[0]["redacted"] == "my number is [phone]"  # lexicons and personal-info rules
    assert rows[1]["level"] in ("high", "imminent")  # the model and the self-harm cues
    assert "show_helpline" in rows[1]["actions"] and rows[1]["helplines"]  # helpline data


def test_the_installed_server_migrates_and_serves_its_pages(installed: Installed) -> None:
    """``kidshield serve`` from the wheel: the database is made by the migrations it ships,
    and pages render from its templates, with their stylesheets, and in Arabic (the .po
    files)."""
    import httpx

    from tests.e2e.household import config_text, write_lists

    venv, work, env = installed
    folder = work / "serve"
    folder.mkdir()
    write_lists(folder)
    # nothing here asks the upstream (port 9, discard): only the web pages are fetched. The
    # real clock: Mia's bedtime off, so nothing depends on the hour the suite runs
    text = config_text(upstream_port=9).replace(
        'bedtime = "21:00"\nwake_up = "07:00"\n', 'bedtime = "off"\n')
    assert 'bedtime = "off"' in text
    (folder / "kidshield.toml").write_text(text, encoding="utf-8")
    proc = subprocess.Popen([str(venv / "bin" / "kidshield"), "serve", "-c", "kidshield.toml"],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:  # ends when the process does
            said.append(line)
            if match := re.search(r"web: (http://127\.0\.0\.1:\d+)/", line):
                url = match.group(1)
                break
        assert url, "kidshield serve did not start:\n" + "".join(said)
        with httpx.Client(base_url=url, timeout=15) as client:
            assert client.get("/healthz").status_code == 200
            page = client.get("/report")
            assert page.status_code == 200 and "<form" in page.text
            sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
            assert sheets and all(client.get(s).status_code == 200 for s in sheets)
            # a blocked name's page, for a browser that reads Arabic (children.po)
            block = client.get("/", headers={"host": "casino.example", "accept-language": "ar"})
            assert '<html lang="ar" dir="rtl">' in block.text
    finally:
        end(proc, 15)
    assert (folder / "kidshield.db").stat().st_size > 0
