"""``kidshield export unbound``: a real Unbound running kidshield's Python module answers as
``kidshield check`` decides, for devices of each profile (issue 17, item 1). The names and
the policy are those of test_unbound.py (the RPZ export), so both exports are held to the same
100 names: category lists, adblock exceptions, allow lists, services, own allow and block
lists, bypass tools, helplines, safe search, subdomains and names nothing blocks."""

from __future__ import annotations

import os
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import dns.exception
import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from kidshield.fleet.unbound_export import DEBIAN_DIST, POLICY_FILE, SCRIPT_FILE
from kidshield.fleet.unbound_module import PREFIX, PolicyError, PolicyFile
from tests.fleet.conftest import (
    UPSTREAM_A,
    UPSTREAM_AAAA,
    FakeAuthority,
    Unbound,
    outcome,
    stop,
    unbound_on_a_free_port,
)
from tests.fleet.test_unbound import (
    BLOCK_V4,
    LEO,
    MIA,
    NOON,
    SCHOOL_NIGHT,
    check_blocked_names_on_other_types,
    check_names_answered_before_any_policy,
    expected,
    kidshield,
    names_to_check,
    write_setup,
)


def need_unbound_with_python() -> None:
    """Skip, saying why, where Unbound or its Python module is missing; fail in CI, whose
    setup installs both (scripts/apt-packages)."""
    missing = [what for what, there in (
        ("unbound", shutil.which("unbound") or Path("/usr/sbin/unbound").exists()),
        ("python3-unbound", Path(DEBIAN_DIST, "unboundmodule.py").exists())) if not there]
    if missing:
        reason = (f"{' and '.join(missing)} not installed: scripts/test installs them from "
                  "scripts/apt-packages")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def setup(folder: Path, upstream_port: int) -> Path:
    """The policy of test_unbound.py, with kidshield's upstream on loopback (the export
    resolves the safe-search hosts through it)."""
    config = write_setup(folder)
    text = config.read_text().replace(
        "[dns]\n", f'[dns]\nupstreams = ["udp://127.0.0.1:{upstream_port}"]\n', 1)
    config.write_text(text)
    return config


def export(config: Path, out: Path, at: str = NOON) -> str:
    return kidshield("export", "unbound", "-c", str(config), "--out", str(out), "--at", at)


def start(folder: Path, out: Path, upstream_port: int) -> Unbound:
    # only Unbound gets Debian's dist-packages (for unboundmodule.py), not the test's Python
    env = {**os.environ, "PYTHONPATH": DEBIAN_DIST}
    return unbound_on_a_free_port(folder, out / "unbound.conf", upstream_port, env=env)


@pytest.fixture
def exported(tmp_path: Path, authority: FakeAuthority) -> tuple[Path, Path]:
    need_unbound_with_python()
    config = setup(tmp_path, authority.port)
    out = tmp_path / "unbound-export"
    export(config, out)
    return config, out


@pytest.fixture
def unbound(exported: tuple[Path, Path], authority: FakeAuthority,
            tmp_path: Path) -> Iterator[Unbound]:
    server = start(tmp_path, exported[1], authority.port)
    yield server
    stop(server)


@pytest.mark.slow
def test_unbound_with_the_module_answers_as_kidshield_check_for_each_profile(
    exported: tuple[Path, Path], unbound: Unbound
) -> None:
    config, _out = exported
    names = names_to_check()
    want = {p: expected(config, p, NOON, names) for p in ("leo", "mia")}
    # leo first: his allowed answers for names mia's profile blocks would sit in Unbound's
    # cache if the module let them in
    for profile, source in (("leo", LEO), ("mia", MIA)):
        got = {n: outcome(unbound.ask(n, source), BLOCK_V4) for n in names}
        differ = {n: (want[profile][n], got[n]) for n in names if want[profile][n] != got[n]}
        assert differ == {}, f"{profile}: kidshield check vs Unbound's module"
    # the profiles really differ, and every kind of outcome is covered
    assert {o[0] for o in want["mia"].values()} == {"allow", "block", "nxdomain", "rewrite"}
    assert sum(want["mia"][n] == ("allow", None) != want["leo"][n] for n in names) >= 1
    assert sum(want["mia"][n] != want["leo"][n] for n in names) >= 10


@pytest.mark.slow
def test_safe_search_answers_carry_the_safe_hosts_addresses(unbound: Unbound) -> None:
    for qtype, address in (("A", UPSTREAM_A), ("AAAA", UPSTREAM_AAAA)):
        answer = unbound.ask("www.google.com", MIA, qtype)
        cname = [rr for rr in answer.answer if rr.rdtype == dns.rdatatype.CNAME]
        assert [str(rr[0].target) for rr in cname] == ["forcesafesearch.google.com."]
        addresses = {str(r) for rr in answer.answer if rr.rdtype != dns.rdatatype.CNAME
                     for r in rr}
        assert addresses == {address}, qtype  # resolved at export through the upstream


@pytest.mark.slow
def test_blocked_names_answer_the_block_page_on_ipv6_and_nodata_for_other_types(
    unbound: Unbound,
) -> None:
    check_blocked_names_on_other_types(unbound, "www.adult-one.kstest.net")


@pytest.mark.slow
def test_names_kidshield_answers_before_any_policy_are_answered_alike_for_everyone(
    unbound: Unbound,
) -> None:
    check_names_answered_before_any_policy(unbound)


@pytest.mark.slow
def test_at_bedtime_the_export_blocks_everything_but_helplines_and_says_until_when(
    tmp_path: Path, authority: FakeAuthority
) -> None:
    need_unbound_with_python()
    config = setup(tmp_path, authority.port)
    out = tmp_path / "night"
    export(config, out, SCHOOL_NIGHT)
    assert "# valid until 2026-12-03T07:00:00+00:00" in (out / "unbound.conf").read_text()
    header = PolicyFile(str(out / POLICY_FILE))
    try:
        assert header.header["valid_until"] == "2026-12-03T07:00:00+00:00"  # mia's wake-up
    finally:
        header.close()
    server = start(tmp_path, out, authority.port)
    try:
        names = ["plain-1.example.net", "roblox.com", "childhelplineinternational.org",
                 "www.google.com", "mask.icloud.com", "adult-one.kstest.net",
                 "casino-x.kstest.net"]
        for profile, source in (("leo", LEO), ("mia", MIA)):
            want = expected(config, profile, SCHOOL_NIGHT, names)
            got = {n: outcome(server.ask(n, source), BLOCK_V4) for n in names}
            assert got == want, profile
        assert want["plain-1.example.net"] == ("block", None)  # mia's bedtime
        # the export is from the past: its valid_until is over, and Unbound's log says so
        log = server.log.read_text()
        assert "was valid until 2026-12-03T07:00:00+00:00 and still applies" in log
    finally:
        stop(server)


@pytest.mark.slow
def test_a_new_export_is_used_without_a_reload_and_a_broken_one_is_not(
    exported: tuple[Path, Path], unbound: Unbound, tmp_path: Path
) -> None:
    config, out = exported
    name = "new-in-deny-list.kstest.net"
    assert outcome(unbound.ask(name, MIA), BLOCK_V4) == ("allow", None)
    config.write_text(config.read_text().replace(
        'deny = ["example.org"', f'deny = ["{name}", "example.org"', 1))
    export(config, out)
    assert wait_for(lambda: outcome(unbound.ask(f"a.{name}", MIA), BLOCK_V4)
                    == ("block", None))
    assert outcome(unbound.ask(f"a.{name}", LEO), BLOCK_V4) == ("allow", None)
    # a damaged file renamed into place: the module keeps the last good policy, and says so
    broken = out / ".broken"
    broken.write_bytes((out / POLICY_FILE).read_bytes()[:100])
    os.replace(broken, out / POLICY_FILE)
    fresh = (f"poll-{i}.example.net" for i in range(1000))  # misses reach the module
    assert wait_for(lambda: unbound.ask(next(fresh), MIA) is not None
                    and "keeping the policy in use" in unbound.log.read_text())
    assert outcome(unbound.ask(f"b.{name}", MIA), BLOCK_V4) == ("block", None)
    assert outcome(unbound.ask("adult-two.kstest.net", MIA), BLOCK_V4) == ("block", None)


def wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.2)
    return False


def test_the_module_refuses_a_truncated_or_foreign_policy_file_naming_it(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    _config, out = exported
    good = (out / POLICY_FILE).read_bytes()
    for label, data in (("short", good[:10]), ("truncated", good[:-16]),
                        ("foreign", b"KSDIDX01" + good[8:])):
        path = tmp_path / label
        path.write_bytes(data)
        with pytest.raises(PolicyError, match=str(path)):
            PolicyFile(str(path))
    magic, fmt, _header_len, entries, _key = PREFIX.unpack_from(good, 0)
    assert (magic, fmt) == (b"KSUNBPOL", 1) and entries > 100
    assert struct.calcsize("<8sIIQ16s") == PREFIX.size


def test_the_exported_module_runs_on_debians_python_without_kidshield_or_numpy(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """The copied module decides with the standard library alone, under a Python whose
    string hashes differ from the exporter's (the file carries its own hash key)."""
    import subprocess

    _config, out = exported
    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python, "Debian's python3 is missing"
    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['kidshield'] = None\n"
        f"sys.path.insert(0, {str(out)!r})\n"
        "import kidshield_unbound as m\n"
        "p = m.PolicyFile(m.POLICY_PATH)\n"
        f"tag = p.profile({MIA!r})\n"
        "print(tag, p.decide_name(tag, 'www.adult-one.kstest.net'), "
        "p.decide_name(tag, 'plain-1.example.net'), p.listed(p.rules('plain-1.example.net')))\n"
    )
    done = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                          timeout=30, cwd=tmp_path, env={"PYTHONHASHSEED": "random"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == ["mia", "(1, 0) (4, 0) False\n"]
    assert (out / SCRIPT_FILE).read_text().count(str(out / POLICY_FILE)) == 1


def test_an_unresolvable_safe_host_is_noted_and_the_rest_is_exported(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.fleet.conftest import free_port

    config = setup(tmp_path, free_port())  # nobody answers on that loopback port
    out = tmp_path / "no-upstream"
    done = subprocess.run([sys.executable, "-m", "kidshield", "export", "unbound", "-c",
                           str(config), "--out", str(out), "--at", NOON],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "forcesafesearch.google.com could not be resolved" in " ".join(done.stderr.split())
    policy = PolicyFile(str(out / POLICY_FILE))
    try:
        google = next(t for t in policy.targets if t["name"] == "forcesafesearch.google.com")
        assert google["a"] == [] and google["aaaa"] == []
        mia = policy.profile(MIA)
        assert policy.decide_name(mia, "www.google.com") == (
            5, policy.targets.index(google) + 1)
        assert policy.decide_name(mia, "adult-one.kstest.net")[0] == 1  # the rest is there
    finally:
        policy.close()


def test_a_block_address_of_the_wrong_family_is_refused_with_a_clear_error(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    config = write_setup(tmp_path)
    done = subprocess.run([sys.executable, "-m", "kidshield", "export", "unbound", "-c",
                           str(config), "--out", str(tmp_path / "x"), "--block-ipv4", "fd00::2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--block-ipv4 'fd00::2' is not an IPv4 address" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


def test_watch_exports_again_when_the_configuration_changes_and_keeps_the_last_good_one(
    tmp_path: Path, authority: FakeAuthority
) -> None:
    import subprocess
    import sys

    config = setup(tmp_path, authority.port)
    # the real clock decides here: no bedtime, whatever the hour the suite runs
    text = config.read_text().replace("[profiles.mia]\n", '[profiles.mia]\nbedtime = "off"\n')
    config.write_text(text)
    out = tmp_path / "watched"
    policy_file = out / POLICY_FILE
    name = "added-later.kstest.net"

    def mia_gets(n: str) -> int | None:
        try:
            policy = PolicyFile(str(policy_file))
        except PolicyError:
            return None
        try:
            return policy.decide_name(policy.profile(MIA), n)[0]
        finally:
            policy.close()

    errors = tmp_path / "watch.err"
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "kidshield", "export", "unbound",
                                 "--watch", "--interval", "0.2", "-c", str(config),
                                 "--out", str(out)], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        assert wait_for(lambda: mia_gets(name) == 4, 60)  # passthru: not listed yet
        config.write_text(text.replace('deny = ["example.org"', f'deny = ["{name}", '
                                       '"example.org"', 1))
        assert wait_for(lambda: mia_gets(name) == 1, 60)  # blocked
        first = policy_file.read_bytes()
        config.write_text(text.replace("[profiles.mia]", "[profiles.mia"))  # broken TOML
        assert wait_for(lambda: "kidshield.toml" in errors.read_text()
                        and "Keeping the last export" in errors.read_text(), 30)
        assert policy_file.read_bytes() == first and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)


class ChainAuthority(FakeAuthority):
    """The fake authority, with names whose answers lead elsewhere: a CNAME (with the
    target's address) or an HTTPS record naming another host."""

    CNAMES: ClassVar[dict[str, str]] = {
        "cdn-alias.kstest.net": "chess-site.kstest.net",  # mia's own block list
        "childhelplineinternational.org": "x.chess-site.kstest.net"}
    HTTPS: ClassVar[dict[str, str]] = {"svc-alias.kstest.net": "chess-site.kstest.net"}

    def _run(self) -> None:
        import dns.message
        import dns.rrset

        while not self.stopped.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
                query = dns.message.from_wire(data)
            except (OSError, dns.exception.DNSException):
                continue
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            reply = dns.message.make_response(query)
            reply.flags |= dns.flags.AA
            owner = name + "."
            if name in self.CNAMES and question.rdtype in (1, 28):
                owner = self.CNAMES[name] + "."
                reply.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "CNAME", owner))
            if question.rdtype == 1:
                reply.answer.append(dns.rrset.from_text(owner, 60, "IN", "A", UPSTREAM_A))
            elif question.rdtype == 28:
                reply.answer.append(dns.rrset.from_text(owner, 60, "IN", "AAAA",
                                                        UPSTREAM_AAAA))
            elif question.rdtype == 65 and name in self.HTTPS:
                reply.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "HTTPS",
                                                        f"1 {self.HTTPS[name]}."))
            self.sock.sendto(reply.to_wire(), addr)


@pytest.mark.slow
def test_a_cname_chain_to_a_name_blocked_for_the_profile_is_blocked_but_not_for_others(
    tmp_path: Path,
) -> None:
    need_unbound_with_python()
    chains = ChainAuthority()
    server = None
    try:
        config = setup(tmp_path, chains.port)
        out = tmp_path / "chains"
        export(config, out)
        server = start(tmp_path, out, chains.port)
        # leo first: his answer must not be what mia then gets from the cache
        assert outcome(server.ask("cdn-alias.kstest.net", LEO), BLOCK_V4) == (
            "rewrite", "chess-site.kstest.net")  # the CNAME and its address
        assert UPSTREAM_A in str(server.ask("cdn-alias.kstest.net", LEO).answer)
        assert outcome(server.ask("cdn-alias.kstest.net", MIA), BLOCK_V4) == ("block", None)
        assert UPSTREAM_A in str(server.ask("cdn-alias.kstest.net", LEO).answer)
        # an HTTPS record whose TargetName is blocked: no data for mia, the record for leo
        assert server.ask("svc-alias.kstest.net", LEO, "HTTPS").answer
        mia_https = server.ask("svc-alias.kstest.net", MIA, "HTTPS")
        assert mia_https.rcode() == dns.rcode.NOERROR and not mia_https.answer
        # a helpline stays reachable whatever its chain leads to
        helpline = server.ask("childhelplineinternational.org", MIA)
        assert UPSTREAM_A in str(helpline.answer) and BLOCK_V4 not in str(helpline.answer)
    finally:
        if server is not None:
            stop(server)
        chains.close()


def test_policy_dir_names_where_unbound_reads_the_files(tmp_path: Path,
                                                       authority: FakeAuthority) -> None:
    config = setup(tmp_path, authority.port)
    out = tmp_path / "staging"
    kidshield("export", "unbound", "-c", str(config), "--out", str(out), "--at", NOON,
              "--policy-dir", "/etc/unbound/kidshield")
    conf = (out / "unbound.conf").read_text()
    assert 'python-script: "/etc/unbound/kidshield/kidshield_unbound.py"' in conf
    assert "POLICY_PATH: str | None = '/etc/unbound/kidshield/kidshield-policy.bin'" in (
        out / SCRIPT_FILE).read_text()
    assert 'module-config: "python validator iterator"' in conf
    assert f"access-control: {MIA}/32 allow" in conf
    assert "# valid until 2026-12-02T21:00:00+00:00" in conf  # mia's school-night bedtime


def test_the_policy_file_decides_as_kidshield_check_on_every_catalog_name(
    tmp_path: Path, authority: FakeAuthority
) -> None:
    """Beyond the 100 names Unbound answers: every safe-search host, service domain, bypass
    tool, helpline and search engine of the shipped catalog, and a name below each, decided
    by the exported file (as the module does) and by ``kidshield check``, for each profile,
    at noon and at bedtime."""
    from kidshield.policy.catalog import default_catalog

    catalog = default_catalog()
    base = sorted({*catalog.safe_hosts, *catalog.bypass.keys(), *catalog.unsupported.keys(),
                   *catalog.helpline_index.keys(),
                   *(d for s in catalog.services.values() for d in s.domains)})
    names = [*base, *(f"sub.{n}" for n in base), *names_to_check()]
    config = setup(tmp_path, authority.port)
    codes = {"block": 1, "nxdomain": 2, "allow": 4, "rewrite": 5}
    for at in (NOON, SCHOOL_NIGHT):
        out = tmp_path / at[:13]
        export(config, out, at)
        policy = PolicyFile(str(out / POLICY_FILE))
        try:
            targets = [""] + [t["name"] for t in policy.targets]
            for profile, source in (("mia", MIA), ("leo", LEO)):
                want = expected(config, profile, at, names)
                tag = policy.profile(source)
                got = {}
                for name in names:
                    act, target = policy.decide_name(tag, name)
                    got[name] = (act, targets[target] or None)
                differ = {n: (want[n], got[n]) for n in names
                          if (codes[want[n][0]], want[n][1]) != got[n]}
                assert differ == {}, f"{profile} at {at}"
        finally:
            policy.close()


@pytest.mark.slow
def test_serve_keeps_the_unbound_export_current_across_a_bedtime_edge(
    tmp_path: Path, authority: FakeAuthority
) -> None:
    """``[fleet] unbound_out`` without ``listen``: ``kidshield serve`` writes the export at
    start and again when the clock passes valid_until (mia's bedtime begins)."""
    from datetime import datetime

    from kidshield.clock import FixedClock
    from tests.e2e.harness import start as serve
    from tests.fleet.test_transfer import TIMINGS

    config = setup(tmp_path, authority.port)
    config.write_text(config.read_text().replace(
        'listen = ["127.0.0.1:5353"]', 'listen = ["127.0.0.1:0"]') + '\n[fleet]\n'
        'unbound_out = "for-unbound"\n')
    clock = FixedClock(datetime.fromisoformat(NOON))
    policy_file = tmp_path / "for-unbound" / POLICY_FILE

    def mia_gets(name: str) -> int | None:
        try:
            policy = PolicyFile(str(policy_file))
        except PolicyError:
            return None
        try:
            return policy.decide_name(policy.profile(MIA), name)[0]
        finally:
            policy.close()

    with serve(config, clock, web=False, timings=TIMINGS) as served:
        fleet = served.app.fleet
        assert fleet is not None and fleet.bound == []  # no transfers without listen
        assert mia_gets("plain-1.example.net") == 4  # passthru at noon
        assert fleet.valid_until == datetime.fromisoformat("2026-12-02T21:00:00+00:00")
        clock.set(datetime.fromisoformat(SCHOOL_NIGHT))  # 21:30: her bedtime began at 21:00
        morning = datetime.fromisoformat("2026-12-03T07:00:00+00:00")  # her wake-up time
        assert wait_for(lambda: fleet.valid_until == morning, 30)
        assert mia_gets("plain-1.example.net") == 1
        policy = PolicyFile(str(policy_file))
        try:
            assert policy.decide_name(policy.profile(LEO), "plain-1.example.net")[0] == 4
        finally:
            policy.close()


RETRIED = {  # by export: its [fleet] setting and how the log calls it
    "unbound": ('unbound_out = "for-unbound"\n', "the export for Unbound's module"),
    "rpz": ('listen = "127.0.0.1:0"\nallow_transfer = ["127.0.0.1/32"]\nout = "for-rpz"\n',
            "the RPZ export"),
}


def _failing_exports(tmp_path: Path, authority: FakeAuthority,
                     exports: list[str]) -> tuple[str, Path]:
    """A configuration asking for ``exports`` whose output folders are files (each export
    fails until the file is removed); the configuration without ``[fleet]`` and its path."""
    config = setup(tmp_path, authority.port)
    base = config.read_text().replace('listen = ["127.0.0.1:5353"]', 'listen = ["127.0.0.1:0"]')
    config.write_text(base + "\n[fleet]\n" + "".join(RETRIED[e][0] for e in exports))
    for export in exports:
        (tmp_path / f"for-{export}").write_text("not a folder\n")
    return base, config


def _serve_quick_retries(config: Path) -> Any:
    """``kidshield serve`` as composed, at noon on a fixed clock, first retry after 0.3 s."""
    import dataclasses
    from datetime import datetime

    from kidshield.clock import FixedClock
    from tests.e2e.harness import start as serve
    from tests.fleet.test_transfer import TIMINGS

    timings = dataclasses.replace(TIMINGS, fleet=30.0, fleet_retry=0.3)
    return serve(config, FixedClock(datetime.fromisoformat(NOON)), web=False, timings=timings)


@pytest.mark.slow
@pytest.mark.parametrize("export", sorted(RETRIED))
def test_serve_tries_a_failed_fleet_export_again_by_itself_waiting_longer_each_time(
    tmp_path: Path, authority: FakeAuthority, caplog: pytest.LogCaptureFixture, export: str,
) -> None:
    """``[dns] listen`` and ``[fleet] unbound_out`` or ``listen`` (RPZ): an export that failed
    at start (here its folder is a file) is tried again after a wait that doubles, each
    failure logged with the wait, not only at the next schedule edge or reload (there was none
    at noon: never). Fixed, the next try succeeds without a reload; the RPZ zones are then
    served over AXFR."""
    import logging
    from datetime import datetime

    import dns.query
    import dns.zone

    from kidshield.fleet.export import MANIFEST

    what = RETRIED[export][1]
    _base, config = _failing_exports(tmp_path, authority, [export])
    blocker = tmp_path / f"for-{export}"
    written = blocker / (POLICY_FILE if export == "unbound" else MANIFEST)
    with caplog.at_level(logging.INFO, logger="kidshield.fleet"), _serve_quick_retries(
            config) as served:
        fleet = served.app.fleet
        assert fleet is not None
        health = fleet.health[export]
        assert wait_for(lambda: health.in_a_row >= 2, 30)
        waits = [r.getMessage() for r in caplog.records
                 if "trying again in" in r.getMessage()]
        assert waits[:2] == [f"{what} failed (1 in a row); trying again in 0.3 s",
                             f"{what} failed (2 in a row); trying again in 0.6 s"]
        assert health.failures >= 2 and health.last_success is None
        blocker.unlink()  # the operator fixes it: the next try succeeds without a reload
        assert wait_for(lambda: written.exists(), 30)
        assert wait_for(lambda: health.in_a_row == 0, 10)
        assert health.last_success == datetime.fromisoformat(NOON)
        assert fleet.valid_until == datetime.fromisoformat("2026-12-02T21:00:00+00:00")
        assert served.app.reloads == 0
        if export == "rpz":
            [(_kind, host, port)] = fleet.bound
            origin = "mia.profile.kidshield.rpz"
            pulled = dns.zone.from_xfr(dns.query.xfr(host, origin, port=port, timeout=10))
            assert pulled == dns.zone.from_file(str(blocker / f"{origin}.zone"), origin,
                                                relativize=True)
            assert len(pulled.nodes) > 3
    assert any(r.getMessage().startswith(f"{what} succeeded after")
               for r in caplog.records)


@pytest.mark.slow
def test_a_reload_that_drops_a_failing_fleet_export_stops_its_tries(
    tmp_path: Path, authority: FakeAuthority, caplog: pytest.LogCaptureFixture,
) -> None:
    """Both exports fail and are being tried again; a configuration without them (a reload)
    cancels the pending tries: no more failures counted or logged, nothing failing in a
    row."""
    import logging


    base, config = _failing_exports(tmp_path, authority, list(RETRIED))
    with caplog.at_level(logging.INFO, logger="kidshield.fleet"), _serve_quick_retries(
            config) as served:
        fleet = served.app.fleet
        assert fleet is not None
        assert wait_for(lambda: min(h.in_a_row for h in fleet.health.values()) >= 2, 30)
        served.write_config(base)
        assert served.reload()
        assert wait_for(lambda: max(h.in_a_row for h in fleet.health.values()) == 0, 10)
        assert fleet.configured_exports() == {}
        counted = [h.failures for h in fleet.health.values()]
        logged = len(caplog.records)
        time.sleep(3.0)  # the pending tries were due within 2.4 s
        assert [h.failures for h in fleet.health.values()] == counted
        assert not [r.getMessage() for r in caplog.records[logged:]
                    if "failed" in r.getMessage()]
