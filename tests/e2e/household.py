"""The household most served tests use: Mia (10, on her tablet at 127.0.0.1 and ::1), Leo (under
9), Kai (13-15) and Sam (16-17) in London, two small lists beside the configuration, and a
Wednesday afternoon on which no bedtime is active."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.harness import PASSWORD

# A Wednesday afternoon in London: no bedtime is active.
AFTERNOON = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

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


def write_lists(folder: Path) -> None:
    (folder / "bad.txt").write_text("casino.example\nbet.example\nnot a domain!\n")
    (folder / "selfharm.txt").write_text("sh.example\n")


def config_text(upstream_port: int = 53, dns_port: int = 0) -> str:
    return CONFIG.format(dns_port=dns_port, upstream_port=upstream_port)


def write_config(folder: Path, dns_port: int = 0, upstream_port: int = 53) -> Path:
    write_lists(folder)
    path = folder / "kidshield.toml"
    path.write_text(config_text(upstream_port, dns_port))
    return path


__all__ = ["AFTERNOON", "CONFIG", "PASSWORD", "config_text", "write_config", "write_lists"]
