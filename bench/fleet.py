"""RPZ export benchmark: export time, and Unbound's load time and memory with the export.

    python bench/fleet.py [--domains 1000000] [--skip-reference]

A list of N generated names (category "adult", blocked for three child profiles of different
age bands, plus the built-in lists and the default profile), exported with the real command
(``kidshield export rpz``, a fresh process, timed from the outside), then loaded into Unbound
(Debian's package, one thread, on a loopback port), timed until it answers and measured from
/proc. Two references in the same run:

* the compact form (``--block-host``): blocked names as ``CNAME .`` rules that Unbound turns
  into a CNAME to the block page's name (``rpz-action-override``);
* Unbound with no policy at all (its own memory);
* Unbound with the cheapest RPZ of the same names: one untagged zone, ``CNAME .`` for each name
  and its subtree (what any RPZ export of these names costs Unbound at least).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from unbound_conf import unbound_conf

ROOT = Path(__file__).resolve().parents[1]


def make_list(path: Path, n: int) -> None:
    rnd = random.Random(7)
    tlds = ["com", "net", "org", "io", "co.uk", "de", "fr", "info", "xyz", "ru"]
    letters = string.ascii_lowercase + string.digits
    names: set[str] = set()
    while len(names) < n:
        name = f"{''.join(rnd.choices(letters, k=rnd.randint(5, 14)))}.{rnd.choice(tlds)}"
        if rnd.random() < 0.3:
            name = f"{''.join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 6)))}.{name}"
        names.add(name)
    path.write_text("# generated for bench/fleet.py\n" + "\n".join(sorted(names)) + "\n")


CONFIG = """
[server]
timezone = "UTC"
storage = "bench.db"
data_dir = "data"

[dns]
block_page_ipv4 = "10.0.0.2"

[[lists]]
name = "big"
source = "{list}"
category = "adult"

[[clients]]
name = "ava"
profile = "ava"
addresses = ["127.0.0.2/32"]

[[clients]]
name = "mia"
profile = "mia"
addresses = ["127.0.0.3/32"]

[[clients]]
name = "leo"
profile = "leo"
addresses = ["127.0.0.4/32"]

[profiles.ava]
age_band = "under-9"

[profiles.mia]
age_band = "9-12"

[profiles.leo]
age_band = "13-15"
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe_query() -> bytes:
    return (bytes.fromhex("abcd01000001000000000000")
            + b"\x05probe\x08kidshield\x04test\x00\x00\x01\x00\x01")


def run_unbound(folder: Path, include: str, label: str) -> dict[str, float]:
    for _attempt in range(5):
        try:
            return _run_unbound(folder, include, label, free_port())
        except PortTaken:
            continue  # another program took the free port first: pick another
    raise SystemExit(f"unbound ({label}): no free port")


class PortTaken(Exception):
    pass


def _run_unbound(folder: Path, include: str, label: str, port: int) -> dict[str, float]:
    conf = folder / f"unbound-{label}.conf"
    conf.write_text(unbound_conf(folder, port, f"""    module-config: "respip iterator"
    local-zone: "probe.kidshield.test." static
    local-data: "probe.kidshield.test. A 127.0.0.9"
{include}
"""))
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.05)
    try:
        while True:
            if proc.poll() is not None:
                error = proc.stderr.read() if proc.stderr else b""
                if b"Address already in use" in error:
                    raise PortTaken
                raise SystemExit(f"unbound ({label}) exited: {error[-2000:]!r}")
            sock.sendto(probe_query(), ("127.0.0.1", port))
            try:
                sock.recv(512)
                break
            except OSError:
                if time.perf_counter() - started > 900:
                    raise SystemExit(f"unbound ({label}) did not start in 900 s") from None
        load = time.perf_counter() - started
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    finally:
        sock.close()
        proc.terminate()
        proc.wait(30)
    return {"load_s": load, "rss_mb": rss, "peak_mb": peak}


def plain_zone(list_file: Path, zone: Path) -> None:
    names = [line for line in list_file.read_text().splitlines()
             if line and not line.startswith("#")]
    with zone.open("w") as fh:
        fh.write("$TTL 60\n@ SOA localhost. root.localhost. 1 3600 600 86400 60\n"
                 "@ NS localhost.\n")
        fh.writelines(f"{n} CNAME .\n*.{n} CNAME .\n" for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--skip-reference", action="store_true",
                    help="only kidshield's export (the plain-zone reference takes minutes)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ks-bench-fleet-"))
    list_file = tmp / "big.txt"
    make_list(list_file, args.domains)
    config = tmp / "kidshield.toml"
    config.write_text(CONFIG.format(list=list_file))
    out = tmp / "rpz"
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "kidshield", "export", "rpz", "-c", str(config),
                           "--out", str(out), "--at", "2026-12-02T12:00:00+00:00"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    export_s = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    export_cpu = (cpu_after.ru_utime - cpu_before.ru_utime
                  + cpu_after.ru_stime - cpu_before.ru_stime)
    compact = tmp / "rpz-compact"
    subprocess.run([sys.executable, "-m", "kidshield", "export", "rpz", "-c", str(config),
                    "--out", str(compact), "--at", "2026-12-02T12:00:00+00:00",
                    "--block-host", "blockpage.example"],
                   capture_output=True, text=True, cwd=ROOT, check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    rules = sum(z["rules"] for z in manifest["zones"])
    size = sum(p.stat().st_size for p in out.glob("*.zone")) / 1e6
    results = {"kidshield export": run_unbound(tmp, f'include: "{out}/unbound.conf"',
                                               "export"),
               "kidshield export --block-host": run_unbound(
                   tmp, f'include: "{compact}/unbound.conf"', "compact")}
    results["no policy"] = run_unbound(tmp, "", "empty")
    if not args.skip_reference:
        zone = tmp / "plain.rpz"
        plain_zone(list_file, zone)
        results["plain RPZ, same names"] = run_unbound(
            tmp, f'rpz:\n    name: "plain.rpz."\n    zonefile: "{zone}"', "plain")
    version = subprocess.run(["unbound", "-V"], capture_output=True, text=True).stdout.split()[1]
    print(f"{args.domains:,} listed names, 3 child profiles + default; export: "
          f"{len(manifest['zones'])} zones, {rules:,} rules, {size:.0f} MB of zone files")
    print(f"export (kidshield export rpz, whole process): {export_s:.2f} s wall, "
          f"{export_cpu:.2f} s CPU"
          f"   [{proc.stdout.strip().splitlines()[-2] if proc.stdout else ''}]")
    print(f"\nUnbound {version}{'':22}{'load s':>10}{'RSS MB':>10}{'peak MB':>10}")
    for label, r in results.items():
        print(f"{label:38}{r['load_s']:>10.1f}{r['rss_mb']:>10.0f}{r['peak_mb']:>10.0f}")
    if "plain RPZ, same names" in results:
        ours, ref = results["kidshield export"], results["plain RPZ, same names"]
        print(f"\nkidshield export / plain RPZ: load {ours['load_s'] / ref['load_s']:.2f}x, "
              f"RSS {ours['rss_mb'] / ref['rss_mb']:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
