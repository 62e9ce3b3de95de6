"""Reading block and allow lists: hosts files, plain domain lists, adblock-style DNS rules and
UT1/squidGuard category folders.

Parsing streams: lines are read, checked and handed on in chunks so a list of millions of names
never sits in memory as Python strings all at once. Bad lines are skipped and reported with
``file:line``; other adblock rule types (cosmetic, URL, regex) are counted and skipped.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from kidshield.errors import InputError, ListFormatError
from kidshield.policy.domains import normalize_name

FORMATS = ("hosts", "domains", "adblock", "ut1")
CHUNK = 50_000
MAX_SHOWN_ERRORS = 5

_NAME = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
)
_ADBLOCK = re.compile(r"^(@@)?\|\|([^\^$/|*]+)\^?(?:\$(.*))?$")
_HOSTS_SKIP = frozenset({
    "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
    "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
    "ip6-allhosts", "0.0.0.0",
})
# DNS-level modifiers we can honour; others change meaning we can't apply, so the rule is skipped
_ADBLOCK_OK_MODIFIERS = frozenset({"important", "all", "document", "doc", ""})

# UT1 (Université Toulouse 1) folder names -> kidshield category names
UT1_CATEGORIES = {
    "adult": "adult", "mixed_adult": "adult", "lingerie": "adult", "sexual_education": "",
    "gambling": "gambling", "dating": "dating", "drogue": "drugs", "drugs": "drugs",
    "agressif": "violence", "violence": "violence", "weapons": "weapons", "hate": "hate",
    "sect": "cults", "malware": "malware", "phishing": "phishing", "cryptojacking": "malware",
    "stalkerware": "malware", "warez": "piracy", "chat": "chat", "social_networks": "social",
    "games": "games", "vpn": "vpn", "redirector": "proxy", "strict_redirector": "proxy",
    "strong_redirector": "proxy", "doh": "doh", "publicite": "ads", "ads": "ads",
    "tricheur": "cheating", "remote-control": "remote_control", "webmail": "webmail",
    "shopping": "shopping", "audio-video": "streaming", "download": "download",
    "filehosting": "download", "press": "press", "sports": "sports", "radio": "radio",
    "manga": "manga", "celebrity": "celebrity", "blog": "blog", "forums": "forums",
    "liste_bu": "", "bank": "", "child": "",
}


@dataclass(slots=True)
class ParseReport:
    """What a list held: usable rules, skipped rule kinds, and bad lines (first few kept)."""

    file: str
    format: str = ""
    rules: int = 0
    allow_rules: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    lines: int = 0

    def error(self, line: int, message: str) -> None:
        self.errors += 1
        if len(self.samples) < MAX_SHOWN_ERRORS:
            self.samples.append(f"{self.file}:{line}: {message}")

    def summary(self) -> str:
        parts = [f"{self.rules} rules"]
        if self.allow_rules:
            parts.append(f"{self.allow_rules} exceptions")
        skipped = sum(self.skipped.values())
        if skipped:
            kinds = ", ".join(f"{n} {k}" for k, n in self.skipped.most_common())
            parts.append(f"{skipped} skipped ({kinds})")
        if self.errors:
            parts.append(f"{self.errors} bad lines")
        return ", ".join(parts)


@dataclass(slots=True)
class Chunk:
    """A batch of parsed rules: block domains with their line numbers, plus exceptions."""

    domains: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    allow: list[tuple[str, int]] = field(default_factory=list)
    category: str | None = None  # set by UT1 folders


Sink = Callable[[Chunk], None]


def _clean(text: str, report: ParseReport, line: int) -> str | None:
    """A domain from list text, or None (and an error) when it is not one."""
    name = text.strip().lower().rstrip(".")
    if name.isascii() and _NAME.fullmatch(name):
        return name
    try:
        return normalize_name(text)
    except InputError as exc:
        report.error(line, str(exc))
        return None


def detect_format(sample: Iterable[str]) -> str:
    """Guess a list's format from its first meaningful lines."""
    votes: Counter[str] = Counter()
    for raw in sample:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("!", "[Adblock", "||", "@@")):
            votes["adblock"] += 1
            continue
        first = line.split()[0]
        try:
            ipaddress.ip_address(first)
            votes["hosts"] += 1
        except ValueError:
            votes["domains"] += 1
        if sum(votes.values()) >= 50:
            break
    return votes.most_common(1)[0][0] if votes else "domains"


def _looks_like_html(first: str, fmt: str) -> bool:
    head = first.lstrip().lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "{")):
        return True
    return fmt != "adblock" and head.startswith("[")  # '[Adblock Plus 2.0]' is a header


def parse_lines(
    lines: Iterable[str], fmt: str, report: ParseReport, sink: Sink, *, allow: bool = False
) -> None:
    """Parse ``lines`` in format ``fmt``; hand rules to ``sink`` in chunks.

    ``allow``: the whole list is an allow list (every entry is an exception).
    """
    report.format = fmt
    chunk = Chunk()
    per_line = {"hosts": _hosts_line, "domains": _domain_line, "adblock": _adblock_line}.get(fmt)
    if per_line is None:
        raise ListFormatError(f"{report.file}: unknown list format {fmt!r} (use {FORMATS})")
    if fmt == "domains" and not allow:
        _parse_plain_domains(lines, report, sink)
        return
    number = 0
    first = True
    for number, raw in enumerate(lines, start=1):
        if first and raw.strip():
            first = False
            if _looks_like_html(raw, fmt):
                raise ListFormatError(f"{report.file}:{number}: this is not a list (it looks "
                                      "like a web page or JSON document)")
        per_line(raw, number, report, chunk, allow)
        if len(chunk.domains) + len(chunk.allow) >= CHUNK:
            sink(chunk)
            chunk = Chunk()
    report.lines += number
    if chunk.domains or chunk.allow:
        sink(chunk)


_ALLOWED_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_.-\n"
_BAD_PAIRS = (b"..", b"\n.", b".\n", b"-.", b".-", b"\n-", b"-\n", b"\n\n")


def _parse_plain_domains(lines: Iterable[str], report: ParseReport, sink: Sink) -> None:
    """Plain domain lists, fast: a block of lines that is entirely well-formed names is
    checked with a few C-speed scans and split in one go; any other block goes line by line."""
    it = iter(lines)
    number = 0
    checked = False
    match = _NAME.fullmatch
    while True:
        block_lines = list(islice(it, CHUNK))
        if not block_lines:
            break
        first = number + 1
        number += len(block_lines)
        if not checked:
            for offset, raw in enumerate(block_lines):
                if raw.strip():
                    checked = True
                    if _looks_like_html(raw, "domains"):
                        raise ListFormatError(
                            f"{report.file}:{first + offset}: this is not a list (it looks "
                            "like a web page or JSON document)")
                    break
        block = "".join(block_lines).lower().replace("\r", "")
        if not block.endswith("\n"):
            block += "\n"
        chunk = Chunk()
        raw_bytes = block.encode("ascii", "replace")
        if (
            not raw_bytes.translate(None, _ALLOWED_BYTES)
            and not block.startswith((".", "-", "\n"))
            and not any(pair in raw_bytes for pair in _BAD_PAIRS)
        ):
            names = block.split()
            if all(len(n) <= 63 or match(n) for n in names if len(n) > 63):
                chunk.domains = names
                chunk.lines = list(range(first, first + len(names)))
                report.rules += len(names)
        if not chunk.domains:
            for offset, raw in enumerate(block_lines):
                _domain_line(raw, first + offset, report, chunk, False)
        if chunk.domains:
            sink(chunk)
    report.lines += number


def _add(chunk: Chunk, report: ParseReport, name: str, number: int, allow: bool) -> None:
    if allow:
        chunk.allow.append((name, number))
        report.allow_rules += 1
    else:
        chunk.domains.append(name)
        chunk.lines.append(number)
        report.rules += 1


def _domain_line(raw: str, number: int, report: ParseReport, chunk: Chunk, allow: bool) -> None:
    text = raw.split("#", 1)[0].strip()
    if not text or text.startswith("!"):
        return
    if " " in text or "\t" in text:
        report.error(number, f"{text!r}: one domain per line expected")
        return
    name = text.lower()
    if name.isascii() and _NAME.fullmatch(name):
        _add(chunk, report, name, number, allow)
        return
    cleaned = _clean(text, report, number)
    if cleaned is not None:
        _add(chunk, report, cleaned, number, allow)


def _hosts_line(raw: str, number: int, report: ParseReport, chunk: Chunk, allow: bool) -> None:
    text = raw.split("#", 1)[0].strip()
    if not text:
        return
    fields = text.split()
    try:
        ipaddress.ip_address(fields[0])
    except ValueError:
        report.error(number, f"{fields[0]!r} is not an IP address (hosts format: 'IP name...')")
        return
    if len(fields) == 1:
        report.error(number, "an address without a host name")
        return
    for host in fields[1:]:
        low = host.lower()
        if low in _HOSTS_SKIP:
            report.skipped["local names"] += 1
            continue
        if low.isascii() and _NAME.fullmatch(low):
            _add(chunk, report, low, number, allow)
            continue
        cleaned = _clean(host, report, number)
        if cleaned is not None:
            _add(chunk, report, cleaned, number, allow)


def _adblock_line(raw: str, number: int, report: ParseReport, chunk: Chunk, allow: bool) -> None:
    text = raw.strip()
    if not text or text.startswith(("!", "#", "[")):
        if text.startswith(("##", "#@#", "#?#", "#$#")):
            report.skipped["cosmetic"] += 1
        return
    m = _ADBLOCK.match(text)
    if m is None:
        if "##" in text or "#@#" in text or "#?#" in text:
            report.skipped["cosmetic"] += 1
        elif text.startswith("/") and text.endswith("/"):
            report.skipped["regex"] += 1
        elif text.startswith(("|", "@@|", "@@")) or "/" in text or "*" in text:
            report.skipped["url or wildcard"] += 1
        elif _NAME.fullmatch(text.lower()):
            _add(chunk, report, text.lower(), number, allow)
        else:
            report.error(number, f"{text!r} is not an adblock DNS rule like '||example.com^'")
        return
    exception, host, modifiers = m.group(1), m.group(2), m.group(3)
    if modifiers is not None:
        mods = {part.strip().lstrip("~").split("=")[0] for part in modifiers.split(",")}
        if not mods <= _ADBLOCK_OK_MODIFIERS:
            report.skipped["modifiers"] += 1
            return
    low = host.lower()
    name = low if low.isascii() and _NAME.fullmatch(low) else _clean(host, report, number)
    if name is not None:
        _add(chunk, report, name, number, allow or exception is not None)


def iter_file_lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        yield from fh


def parse_file(
    path: Path, fmt: str, sink: Sink, *, allow: bool = False, label: str | None = None
) -> ParseReport:
    """Parse one list file (or a UT1 folder) into ``sink``; bad lines go into the report."""
    report = ParseReport(file=label or str(path))
    if fmt == "ut1" or (fmt == "auto" and path.is_dir()):
        return _parse_ut1(path, sink, report, allow)
    if not path.is_file():
        raise ListFormatError(f"{path}: no such list file")
    if fmt == "auto":
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            head = [fh.readline() for _ in range(200)]
        fmt = detect_format(head)
    parse_lines(iter_file_lines(path), fmt, report, sink, allow=allow)
    return report


def _parse_ut1(root: Path, sink: Sink, report: ParseReport, allow: bool) -> ParseReport:
    report.format = "ut1"
    if not root.is_dir():
        raise ListFormatError(f"{root}: a UT1 list is a folder of <category>/domains files")
    folders = sorted(p for p in root.iterdir() if (p / "domains").is_file())
    if not folders:
        raise ListFormatError(f"{root}: no <category>/domains files found in this folder")
    for folder in folders:
        category = UT1_CATEGORIES.get(folder.name, folder.name.replace("-", "_"))
        if not category:
            report.skipped[f"category {folder.name}"] += 1
            continue
        file = folder / "domains"
        sub = ParseReport(file=str(file))

        def tagged(chunk: Chunk, category: str = category) -> None:
            chunk.category = category
            sink(chunk)

        parse_lines(iter_file_lines(file), "domains", sub, tagged, allow=allow)
        report.rules += sub.rules
        report.allow_rules += sub.allow_rules
        report.lines += sub.lines
        report.skipped.update(sub.skipped)
        report.errors += sub.errors
        report.samples.extend(sub.samples[: MAX_SHOWN_ERRORS - len(report.samples)])
    return report
