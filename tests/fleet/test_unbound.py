"""The export, loaded into a real Unbound, answers as ``kidshield check`` decides, for devices of
each profile (issue 17). Names cover every zone kind: category lists, adblock exceptions, allow
lists, services, own allow and block lists, bypass tools, helplines, safe search, subdomains
and names nothing blocks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dns.rcode
import pytest

from tests.fleet.conftest import (
    UPSTREAM_AAAA,
    FakeAuthority,
    Unbound,
    outcome,
    start_named,
    start_recursor,
    stop,
    unbound_on_a_free_port,
)

NOON = "2026-12-02T12:00:00+00:00"  # a Wednesday: no bedtime
SCHOOL_NIGHT = "2026-12-02T21:30:00+00:00"  # the 9-12 band's bedtime (school nights 21:00)
BLOCK_V4, BLOCK_V6 = "10.0.0.2", "fd00::2"
MIA, LEO = "127.0.0.2", "127.0.0.3"  # source addresses on loopback

CONFIG = f"""
[server]
timezone = "UTC"
storage = "k.db"
data_dir = "data"

[dns]
listen = ["127.0.0.1:5353"]
block_page_ipv4 = "{BLOCK_V4}"
block_page_ipv6 = "{BLOCK_V6}"

[[lists]]
name = "adult-extra"
source = "adult.txt"
category = "adult"

[[lists]]
name = "dating"
source = "dating.txt"
category = "dating"

[[lists]]
name = "gambling-adblock"
source = "gambling.txt"
format = "adblock"
category = "gambling"

[[lists]]
name = "school-allow"
source = "allow.txt"
allow = true

[[clients]]
name = "mia's tablet"
profile = "mia"
addresses = ["{MIA}/32"]

[[clients]]
name = "leo's laptop"
profile = "leo"
addresses = ["{LEO}/32"]

[profiles.mia]
birth_date = "2016-05-01"
allow = ["roblox.com", "ok.adult-one.kstest.net"]
deny = ["example.org", "chess-site.kstest.net"]

[profiles.leo]
age_band = "16-17"
deny = ["leo-only.kstest.net"]
"""

ADULT = ["adult-one.kstest.net", "adult-two.kstest.net", "deep.sub.adult-three.kstest.net",
         "adult-four.kstest.net"]
DATING = ["date-now.kstest.net", "flirt.kstest.net", "m.singles.kstest.net"]
GAMBLING = ("||casino-x.kstest.net^\n||bet-y.kstest.net^\n@@||ok.casino-x.kstest.net^\n"
            "||poker-z.kstest.net^\n")
ALLOWED_LIST = ["allowed-bet.kstest.net", "school.adult-four.kstest.net"]


def names_to_check() -> list[str]:
    names = [
        *ADULT, *(f"www.{n}" for n in ADULT),
        "ok.adult-one.kstest.net", "x.ok.adult-one.kstest.net",
        *DATING, *(f"a.b.{n}" for n in DATING),
        "casino-x.kstest.net", "www.casino-x.kstest.net",
        "ok.casino-x.kstest.net", "a.ok.casino-x.kstest.net",
        "bet-y.kstest.net", "poker-z.kstest.net", "sub.poker-z.kstest.net",
        "allowed-bet.kstest.net", "school.adult-four.kstest.net",
        "x.school.adult-four.kstest.net",
        "pornhub.com", "www.pornhub.com",  # built-in adult list
        "tiktok.com", "www.tiktok.com", "discord.com", "tinder.com", "roblox.com",
        "www.roblox.com", "example.org", "www.example.org", "chess-site.kstest.net",
        "leo-only.kstest.net", "a.leo-only.kstest.net",
        "mask.icloud.com", "dns.google", "nordvpn.com",
        "childhelplineinternational.org", "findahelpline.com",
        "www.google.com", "google.com", "www.google.de", "www.bing.com", "duckduckgo.com",
        "www.youtube.com", "m.youtube.com", "youtube.com",
    ]
    names += [f"plain-{i}.example.net" for i in range(100 - len(names))]
    assert len(names) == 100 and len(set(names)) == 100
    return names


def write_setup(folder: Path) -> Path:
    (folder / "adult.txt").write_text("\n".join(ADULT) + "\n")
    (folder / "dating.txt").write_text("\n".join(DATING) + "\n")
    (folder / "gambling.txt").write_text(GAMBLING)
    (folder / "allow.txt").write_text("\n".join([*ALLOWED_LIST, "bet-y.kstest.net"]) + "\n")
    config = folder / "kidshield.toml"
    config.write_text(CONFIG)
    return config


def kidshield(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "kidshield", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


Outcome = tuple[str, str | None]


def expected(config: Path, profile: str, at: str, names: list[str]) -> dict[str, Outcome]:
    decisions = json.loads(kidshield("check", "--json", "--no-state", "-c", str(config),
                                     "-p", profile, "--at", at, *names))
    if isinstance(decisions, dict):  # one name: one object
        decisions = [decisions]
    out: dict[str, tuple[str, str | None]] = {}
    for d in decisions:
        if d["action"] == "block":
            out[d["name"]] = ("nxdomain" if d["reason"] == "bypass" else "block", None)
        elif d["action"] == "rewrite":
            out[d["name"]] = ("rewrite", d["target"])
        else:
            out[d["name"]] = ("allow", None)
    return out


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path]:
    config = write_setup(tmp_path)
    out = tmp_path / "rpz"
    kidshield("export", "rpz", "-c", str(config), "--out", str(out), "--at", NOON)
    return config, out


@pytest.fixture
def unbound(exported: tuple[Path, Path], authority: FakeAuthority,
            tmp_path: Path) -> Iterator[Unbound]:
    _config, out = exported
    server = unbound_on_a_free_port(tmp_path, out / "unbound.conf", authority.port)
    yield server
    stop(server)


def answers(server: Unbound, source: str, names: list[str]) -> dict[str, tuple[str, str | None]]:
    return {name: outcome(server.ask(name, source), BLOCK_V4) for name in names}


@pytest.mark.slow
def test_unbound_with_the_export_answers_as_kidshield_check_for_each_profile(
    exported: tuple[Path, Path], unbound: Unbound
) -> None:
    config, _out = exported
    names = names_to_check()
    for profile, source in (("mia", MIA), ("leo", LEO)):
        want = expected(config, profile, NOON, names)
        got = answers(unbound, source, names)
        differ = {n: (want[n], got[n]) for n in names if want[n] != got[n]}
        assert differ == {}, f"{profile}: kidshield check vs Unbound"
    # the two profiles really differ, and every kind of outcome is covered
    mia = expected(config, "mia", NOON, names)
    leo = expected(config, "leo", NOON, names)
    assert {o[0] for o in mia.values()} == {"allow", "block", "nxdomain", "rewrite"}
    assert sum(mia[n] != leo[n] for n in names) >= 10


def check_blocked_names_on_other_types(unbound: Unbound, https_name: str) -> None:
    """A blocked name answers the block page on AAAA and no data on other types; an allowed
    one the upstream's address (shared by both exports' tests)."""
    aaaa = unbound.ask("adult-one.kstest.net", MIA, "AAAA")
    assert {str(r) for rr in aaaa.answer for r in rr} == {BLOCK_V6}
    https = unbound.ask(https_name, MIA, "HTTPS")
    assert https.rcode() == 0 and not https.answer
    allowed = unbound.ask("plain-1.example.net", MIA, "AAAA")
    assert {str(r) for rr in allowed.answer for r in rr} == {UPSTREAM_AAAA}


def check_names_answered_before_any_policy(unbound: Unbound) -> None:
    """The canary, DDR and the child page: the same for every client (both exports)."""
    for source in (MIA, LEO, "127.0.0.1"):
        canary = unbound.ask("use-application-dns.net", source)
        assert canary.rcode() == dns.rcode.NXDOMAIN  # Firefox keeps its own DoH off
        ddr = unbound.ask("_dns.resolver.arpa", source, "SVCB")
        assert ddr.rcode() == dns.rcode.NOERROR and not ddr.answer  # no upgrade past us
        child = unbound.ask("kidshield.home.arpa", source)
        assert {str(r) for rr in child.answer for r in rr} == {BLOCK_V4}  # the child page


@pytest.mark.slow
def test_blocked_names_answer_the_block_page_on_ipv6_and_nodata_for_other_types(
    unbound: Unbound,
) -> None:
    check_blocked_names_on_other_types(unbound, "adult-one.kstest.net")


@pytest.mark.slow
def test_names_kidshield_answers_before_any_policy_are_answered_alike_for_everyone(
    unbound: Unbound,
) -> None:
    check_names_answered_before_any_policy(unbound)


@pytest.mark.slow
def test_at_bedtime_the_export_blocks_everything_but_helplines_and_the_allow_list(
    tmp_path: Path, authority: FakeAuthority
) -> None:
    config = write_setup(tmp_path)
    out = tmp_path / "rpz-night"
    kidshield("export", "rpz", "-c", str(config), "--out", str(out), "--at", SCHOOL_NIGHT)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["valid_until"] == "2026-12-03T07:00:00+00:00"  # mia's wake-up time
    server = unbound_on_a_free_port(tmp_path, out / "unbound.conf", authority.port)
    try:
        names = ["plain-1.example.net", "roblox.com", "childhelplineinternational.org",
                 "www.google.com", "mask.icloud.com", "adult-one.kstest.net", "casino-x.kstest.net"]
        for profile, source in (("mia", MIA), ("leo", LEO)):
            want = expected(config, profile, SCHOOL_NIGHT, names)
            assert answers(server, source, names) == want, profile
        assert expected(config, "mia", SCHOOL_NIGHT, ["plain-1.example.net"]) == {
            "plain-1.example.net": ("block", None)}
    finally:
        stop(server)


@pytest.mark.slow
def test_compact_zones_send_blocked_names_to_the_block_host_and_agree_otherwise(
    tmp_path: Path, authority: FakeAuthority,
) -> None:
    config = write_setup(tmp_path)
    out = tmp_path / "rpz-compact"
    host = "blockpage.kstest.net"
    kidshield("export", "rpz", "-c", str(config), "--out", str(out), "--at", NOON,
              "--block-host", host)
    assert "CNAME ." in (out / "adult.category.kidshield.rpz.zone").read_text()
    assert "rpz-cname-override" in (out / "unbound.conf").read_text()
    server = unbound_on_a_free_port(tmp_path, out / "unbound.conf", authority.port)
    try:
        names = names_to_check()
        for profile, source in (("mia", MIA), ("leo", LEO)):
            want = expected(config, profile, NOON, names)
            got = answers(server, source, names)
            for name in names:
                if want[name] == ("block", None):  # the block page, by address or by name
                    assert got[name] in (("block", None), ("rewrite", host)), (profile, name)
                else:
                    assert got[name] == want[name], (profile, name)
            assert sum(got[n] == ("rewrite", host) for n in names) >= 10
    finally:
        stop(server)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["powerdns", "bind"])
def test_powerdns_and_bind_with_the_export_answer_as_kidshield_check(
    engine: str, exported: tuple[Path, Path], authority: FakeAuthority, tmp_path: Path,
) -> None:
    config, out = exported
    folder = tmp_path / engine
    folder.mkdir()
    start = start_recursor if engine == "powerdns" else start_named
    server = start(folder, out, authority.port)
    try:
        names = names_to_check()
        for profile, source in (("mia", MIA), ("leo", LEO)):
            want = expected(config, profile, NOON, names)
            got = {n: outcome(server.ask(n, source), BLOCK_V4) for n in names}
            differ = {n: (want[n], got[n]) for n in names if want[n] != got[n]}
            assert differ == {}, f"{profile}: kidshield check vs {engine}"
    finally:
        server.stop()


def test_the_export_includes_the_dashboards_edits_over_the_file(tmp_path: Path) -> None:
    from kidshield.clock import FixedClock
    from kidshield.config import load_config
    from kidshield.state import StateSource
    from kidshield.state.editor import Change, SettingsEditor
    from kidshield.storage.db import Database
    from kidshield.storage.state_sql import SqlStateStore

    config_path = write_setup(tmp_path)
    config = load_config(config_path)
    db = Database.open(config.storage_target())
    try:
        clock = FixedClock(datetime.fromisoformat(NOON))
        state = StateSource(SqlStateStore(db), clock)
        state.load()
        SettingsEditor(state, lambda: config, clock).change(
            [Change("profiles.mia", "deny", ["example.org", "chess-site.kstest.net",
                                             "edited-in-dashboard.kstest.net"])], "parent")
    finally:
        db.close()
    out = tmp_path / "rpz-edited"
    kidshield("export", "rpz", "-c", str(config_path), "--out", str(out), "--at", NOON)
    zone = (out / "mia.profile.kidshield.rpz.zone").read_text()
    assert "\nedited-in-dashboard.kstest.net A 10.0.0.2\n" in zone
    decision = json.loads(kidshield("check", "--json", "-c", str(config_path), "-p", "mia",
                                    "--at", NOON, "edited-in-dashboard.kstest.net"))
    assert decision["action"] == "block"  # as kidshield itself answers, with the edit
