"""Metrics from ``kidshield serve --no-web`` on a listener of their own, behind a bearer token,
clean for Prometheus' own checker (``promtool check metrics``, from Debian's prometheus
package; issue 17 item 5)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dns.conftest import HOUSEHOLD_ANY_HOUR, KID, FakeUpstream, config_text
from tests.dns.test_serve_process import _ask
from tests.processes import end

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def served(upstream: FakeUpstream, tmp_path: Path) -> Iterator[dict[str, int]]:
    (tmp_path / "metrics.token").write_text(TOKEN + "\n")
    config = tmp_path / "kidshield.toml"
    config.write_text(config_text([upstream.url], rest=HOUSEHOLD_ANY_HOUR + """
[metrics]
listen = "127.0.0.1:0"
token_file = "metrics.token"
"""), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kidshield", "serve", "-c", str(config), "--no-web"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    ports: dict[str, int] = {}
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        seen = []
        while "metrics" not in ports and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(r"listening: (\w+) 127\.0\.0\.1:(\d+)", line)
            if match:
                ports[match.group(1)] = int(match.group(2))
        assert "metrics" in ports and "udp" in ports, "".join(seen)
        yield ports
    finally:
        end(proc)


def test_no_web_serves_metrics_on_its_own_listener_only_with_the_token(
    served: dict[str, int],
) -> None:
    _ask(served["udp"], "denied.example")
    _ask(served["udp"], "fine.example")
    url = f"http://127.0.0.1:{served['metrics']}/metrics"
    missing = httpx.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="kidshield"'
    wrong = httpx.get(url, headers={"Authorization": "Bearer " + "x" * 32}, timeout=5)
    assert wrong.status_code == 401
    # RFC 6750 section 3.1: a token sent and refused is named so
    assert wrong.headers["www-authenticate"] == 'Bearer realm="kidshield", error="invalid_token"'
    assert "not valid" in wrong.text
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200
    text = response.text
    assert re.search(r'^kidshield_dns_queries_total\{action="block",profile="kid",'
                     r'reason="deny_list"\} 1\.0$', text, re.M), text
    assert re.search(r'^kidshield_build_info\{python="[\d.]+",version="[^"]+"\} 1\.0$', text,
                     re.M)
    assert re.search(r"^process_resident_memory_bytes \d", text, re.M)
    assert "kidshield_dns_upstream_rtt_seconds{" in text
    assert re.search(r"^kidshield_reloads_total 0\.0$", text, re.M)
    assert httpx.get(url.replace("/metrics", "/"), timeout=5).status_code == 404


def check_with_promtool(text: str) -> None:
    """``text`` (a /metrics page) passes ``promtool check metrics`` without a remark."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: scripts/test installs Debian's prometheus package "
                    "(scripts/apt-packages)")
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


def test_metrics_pass_promtool_check_metrics(served: dict[str, int]) -> None:
    _ask(served["udp"], "denied.example")
    text = httpx.get(f"http://127.0.0.1:{served['metrics']}/metrics",
                     headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    check_with_promtool(text)
    assert KID  # the queries above came from the kid's address
