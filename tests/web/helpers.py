"""Shared set-up for web tests: a configuration on disk, a DnsService with its database and
resolver (no sockets), and a signed-in parent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from kidshield.app import PolicyRuntime
from kidshield.clock import FixedClock
from kidshield.config import load_config
from kidshield.dns.resolver import Resolver
from kidshield.dns.service import DnsService
from kidshield.dns.upstream import UpstreamPool, parse_upstream
from kidshield.storage.db import Database

# A Wednesday afternoon in London: no bedtime is active.
AFTERNOON = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"

CONFIG = """\
# kidshield test configuration (comments must survive edits)
[server]
timezone = "Europe/London"
country = "GB"
storage = "kidshield.db"
default_profile = "mia"

[dns]
listen = ["127.0.0.1:{dns_port}"]
upstreams = ["udp://127.0.0.1:{upstream_port}"]
block_page_ipv4 = "127.0.0.1"
rate_limit_qps = 0

[web]
listen = "127.0.0.1:0"

[logging]
retention_days = 7

[[lists]]
name = "bad"
source = "bad.txt"
format = "domains"
category = "gambling"

[[lists]]
name = "sh"
source = "selfharm.txt"
format = "domains"
category = "self_harm"

[[clients]]
name = "Mia's tablet"
profile = "mia"
addresses = ["127.0.0.1", "::1"]

# Mia is 10
[profiles.mia]
name = "Mia"
budgets = {{ minecraft = 60 }}
age_band = "9-12"
bedtime = "21:00"
wake_up = "07:00"

[profiles.leo]
name = "Leo"
age_band = "under-9"

[profiles.kai]
name = "Kai"
age_band = "13-15"

[profiles.sam]
name = "Sam"
age_band = "16-17"
"""


def write_config(folder: Path, dns_port: int = 0, upstream_port: int = 53,
                 tweak: Callable[[str], str] = lambda text: text) -> Path:
    """The test configuration; ``tweak`` edits its text (another default profile, more
    sections)."""
    (folder / "bad.txt").write_text("casino.example\nbet.example\nnot a domain!\n")
    (folder / "selfharm.txt").write_text("sh.example\n")
    path = folder / "kidshield.toml"
    path.write_text(tweak(CONFIG.format(dns_port=dns_port, upstream_port=upstream_port)))
    return path


def offline_service(folder: Path, clock: FixedClock | None = None,
                    tweak: Callable[[str], str] = lambda text: text) -> DnsService:
    """A DnsService with database and resolver but no listeners (for in-process tests)."""
    path = write_config(folder, tweak=tweak)
    config = load_config(path)
    service = DnsService(config, path, clock or FixedClock(AFTERNOON))
    runtime = PolicyRuntime.build(config)
    service.db = Database.open(config.path(config.server.storage))
    pool = UpstreamPool([parse_upstream(u) for u in config.dns.upstreams])
    service.resolver = Resolver(runtime, pool, service.clock.now, service.state_for)
    service.refresh_states()
    return service


def set_up_parent(client: TestClient) -> dict[str, str]:
    """Create the parent account through the API, sign in, return headers for writes."""
    ctx = client.app.state.web  # type: ignore[attr-defined]
    r = client.post("/api/v1/setup", json={"token": ctx.setup_token, "name": "Alex",
                                            "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/login", json={"name": "Alex", "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = client.get("/api/v1/me").json()["csrf"]
    return {"X-CSRF-Token": csrf}
