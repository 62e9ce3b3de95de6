from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.e2e.live import FakeUpstream, LiveKidshield
from tests.web.helpers import write_config

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKidshield]:
    folder = tmp_path_factory.mktemp("live")
    upstream = FakeUpstream()
    path = write_config(folder, dns_port=0, upstream_port=upstream.port)
    # no bedtime at first, so the flow does not depend on the time of day
    path.write_text(path.read_text().replace('bedtime = "21:00"\nwake_up = "07:00"',
                                             'bedtime = "off"'))
    server = LiveKidshield(path)
    yield server
    server.close()
    upstream.close()


@pytest.fixture(scope="module")
def browser(live: LiveKidshield) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    rules = ", ".join(f"MAP {host} 127.0.0.1:{live.web_port}"
                      for host in ("casino.example", "sh.example", "kidshield.home.arpa"))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=[*ARGS, f"--host-resolver-rules={rules}"])
        yield b
        b.close()
