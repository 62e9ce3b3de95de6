"""Starting the served application: every feature is there or the start fails saying which,
and a start that fails leaves nothing listening."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kidshield.app import Application
from kidshield.dns.server import BindError
from kidshield.features import FEATURES, FeatureError
from tests.e2e import harness
from tests.e2e.harness import ROOT, LoopThread
from tests.e2e.household import config_text, write_lists
from tests.e2e.upstream import FakeUpstream


@pytest.fixture
def config_path(tmp_path: Path, upstream: FakeUpstream) -> Path:
    write_lists(tmp_path)
    path = tmp_path / "kidshield.toml"
    path.write_text(config_text(upstream.port), encoding="utf-8")
    return path


def test_every_feature_is_mounted(served: harness.Served) -> None:
    assert served.app.features is not None
    assert [f.name for f in served.app.features.web] == list(FEATURES)
    client = served.client()
    for path in ("/report", "/learn", "/workshop", "/assess"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("module", ["kidshield.web.api.media", "kidshield.reports.web"])
def test_a_feature_that_cannot_be_imported_stops_the_start_naming_it(
    config_path: Path, loop_thread: LoopThread, monkeypatch: pytest.MonkeyPatch, module: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # "import" of it now fails
    app = Application.from_file(config_path, isolate=False)
    with pytest.raises(FeatureError) as info:
        loop_thread.run(app.start())
    feature = "media" if "media" in module else "reports"
    assert f"the {feature} feature cannot be loaded" in str(info.value)
    assert app.bound == []  # nothing of the failed start is left listening


def test_serve_exits_with_a_clear_message_when_a_feature_is_broken(
    config_path: Path, tmp_path: Path,
) -> None:
    # a site hook that makes one feature's module unimportable in the real process
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import sys\nsys.modules['kidshield.web.api.media'] = None\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{hooks}{os.pathsep}{ROOT}", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "kidshield", "serve", "-c", str(config_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "error: the media feature cannot be loaded" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_a_taken_web_port_is_a_clear_error_and_frees_the_dns_ports(
    config_path: Path, loop_thread: LoopThread,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        text = config_path.read_text(encoding="utf-8").replace(
            'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"')
        config_path.write_text(text, encoding="utf-8")
        app = Application.from_file(config_path, isolate=False)
        with pytest.raises(BindError) as info:
            loop_thread.run(app.start())
    assert f"TCP 127.0.0.1:{port}" in str(info.value) and "[web] listen" in str(info.value)
    assert app.bound == []
