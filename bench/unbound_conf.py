"""Unbound configurations for the benchmarks (bench/dns, bench/fleet.py, bench/unbound_pymod.py):
one foreground process with one thread on a loopback port, nothing outside its folder (no
chroot, user switch, syslog or pid file) and no remote control. What differs is what each
measures: a forwarder to the benchmark's fake upstream, or RPZ zones."""

from __future__ import annotations

from pathlib import Path


def unbound_conf(folder: Path, port: int, server: str = "", rest: str = "") -> str:
    """The configuration, with more ``server:`` lines (indented) and sections after it."""
    return f"""server:
    interface: 127.0.0.1@{port}
    num-threads: 1
    do-daemonize: no
    use-syslog: no
    logfile: ""
    chroot: ""
    username: ""
    directory: "{folder}"
    pidfile: ""
{server}remote-control:
    control-enable: no
{rest}"""


def forwarder_conf(folder: Path, port: int, upstream: int,
                   modules: str = '    module-config: "iterator"\n') -> str:
    """Unbound as a caching forwarder to ``upstream`` on loopback, as bench/dns compares it
    with kidshield: caches large enough for every benchmark name. ``modules``: the
    ``server:`` lines that choose its modules (an ``include:`` of an export that does)."""
    return unbound_conf(folder, port, f"""    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    msg-cache-size: 64m
    rrset-cache-size: 128m
    verbosity: 0
{modules}""", f"""forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream}
""")
