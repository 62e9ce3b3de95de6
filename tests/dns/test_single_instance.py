"""A second ``kidshield serve`` on an address the first one answers on stops with a clear
message instead of taking half the queries with its own policy (issue 17 item 3, issue 14);
the first keeps answering, and once it stops the address is free again."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.dns.instance import InstanceLock
from tests.e2e.harness import start
from tests.fleet.conftest import free_port

CONFIG = """
[server]
storage = "{db}"
data_dir = "data"

[dns]
listen = ["127.0.0.1:{port}"]
upstreams = ["udp://127.0.0.1:9"]

[[clients]]
name = "kid"
profile = "kid"
addresses = ["127.0.0.2"]

[profiles.kid]
age_band = "9-12"
deny = ["denied.example"]
"""

pytestmark = pytest.mark.skipif(not InstanceLock.supported(), reason="Linux only")


def test_a_second_instance_on_the_same_address_fails_clearly(tmp_path: Path) -> None:
    port = free_port()
    first_cfg, second_cfg = tmp_path / "first.toml", tmp_path / "second.toml"
    first_cfg.write_text(CONFIG.format(db="first.db", port=port))
    second_cfg.write_text(CONFIG.format(db="second.db", port=port).replace(
        'deny = ["denied.example"]', "deny = []"))
    with start(first_cfg, web=False) as first:
        assert first.addresses("denied.example", source="127.0.0.2") == ["127.0.0.1"]
        with pytest.raises(Exception) as failed, start(second_cfg, web=False):
            pass
        message = str(failed.value)
        assert f"cannot listen on DNS 127.0.0.1:{port}: another kidshield serve" in message
        for _ in range(20):  # every query still gets the first instance's policy
            assert first.addresses("denied.example", source="127.0.0.2") == ["127.0.0.1"]
    with start(second_cfg, web=False) as second:  # the address is free once the first stops
        assert second.bound("udp") == port
