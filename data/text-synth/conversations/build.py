"""Compile the hand-written conversations in src/ into one JSONL file per kind of material.

The conversations are written by hand in a compact text form (src/<kind>-<batch>.txt, described in
README.md) because JSON is too noisy to write and review hundreds of chats in. This script only
does the bookkeeping: ids, turn numbers, recipients, ages, time stamps and labels from the short
tags. It never writes or varies message text.

    python data/text-synth/conversations/build.py           # rewrite the .jsonl files
    python data/text-synth/conversations/build.py --check   # exit 1 if they are out of date

Another folder in the same format (../conversations-b, by a second writer) is built by this
script too: its own build.py calls main(folder=...).

Standard library only (plus the tzdata the project already depends on, for zoneinfo).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

STAGES = (
    "rapport",
    "gifts",
    "exclusivity",
    "secrecy",
    "risk_assessment",
    "off_platform",
    "desensitisation",
    "sexual",
    "image_request",
    "meeting",
)
LABELS = (
    "grooming",
    "sexual_content",
    "sextortion",
    "threat",
    "bullying",
    "self_harm",
    "hate",
    "benign",
)
# Short codes used after a stage in a tag ("sexual+sc", "+x+t").
CODES = {
    "g": "grooming",
    "sc": "sexual_content",
    "x": "sextortion",
    "t": "threat",
    "b": "bullying",
    "sh": "self_harm",
    "h": "hate",
}
HEADER_KEYS = {"kind", "platform", "zone", "start", "labels", "group"}
SRC_NAME = re.compile(r"^(?P<kind>[a-z][a-z0-9-]*[a-z0-9])-(?P<batch>\d{2})\.txt$")
PERSON = re.compile(r"^@(?P<key>[A-Za-z])\s+(?P<id>\S+)\s+(?P<age>\d{1,2}|\?)(?:\s+(?P<note>.+))?$")
SPEAKER = re.compile(r"^(?P<sender>[A-Za-z])(?:>(?P<recipient>[A-Za-z*]))?$")
REL_TIME = re.compile(r"^\+(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
DAY_AT = re.compile(r"^\+(?P<d>\d+)d@(?P<hh>\d{1,2}):(?P<mm>\d{2})$")
NEXT_AT = re.compile(r"^@(?P<hh>\d{1,2}):(?P<mm>\d{2})$")


class SourceError(Exception):
    """A source line that cannot be compiled; the message names file:line."""


@dataclass
class Person:
    id: str
    age: int | None
    note: str | None


@dataclass
class Conversation:
    file: str
    number: str
    line: int
    header: dict[str, str] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    messages: list[tuple[int, str]] = field(default_factory=list)


def typing_gap(text: str) -> timedelta:
    """A plausible gap before a message whose time was not written: reading plus typing time.

    Derived from the text (crc32, not random) so every build gives the same time stamps.
    """
    seconds = 6 + min(len(text), 240) // 3 + zlib.crc32(text.encode("utf-8")) % 35
    return timedelta(seconds=seconds)


def next_time(token: str | None, prev: datetime, zone: ZoneInfo, text: str) -> datetime:
    if token is None:
        return prev + typing_gap(text)
    if m := DAY_AT.match(token):
        day = prev.astimezone(zone).date() + timedelta(days=int(m["d"]))
        return datetime.combine(day, time(int(m["hh"]), int(m["mm"])), zone)
    if m := NEXT_AT.match(token):
        local = prev.astimezone(zone)
        at = datetime.combine(local.date(), time(int(m["hh"]), int(m["mm"])), zone)
        return at if at > local else at + timedelta(days=1)
    if (m := REL_TIME.match(token)) and token != "+":
        parts = {k: int(v) for k, v in m.groupdict().items() if v}
        return prev + timedelta(
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    raise ValueError(f"bad time {token!r} (use +5m, +1h30m, +2d, +2d@21:10 or @21:10)")


def parse_tag(tag: str) -> tuple[str | None, list[str]]:
    stage_name, *codes = tag.removesuffix("?").split("+")
    labels: list[str] = []
    stage: str | None = None
    if stage_name:
        if stage_name not in STAGES:
            raise ValueError(f"unknown stage {stage_name!r} (one of {', '.join(STAGES)})")
        stage = stage_name
        labels.append("grooming")
    for code in codes:
        if code not in CODES:
            raise ValueError(f"unknown label code {code!r} (one of {', '.join(CODES)})")
        labels.append(CODES[code])
    if not labels:
        raise ValueError(f"empty tag {tag!r}")
    return stage, sorted(set(labels), key=LABELS.index)


def read_blocks(path: Path, kind: str) -> list[Conversation]:
    convs: list[Conversation] = []
    current: Conversation | None = None
    in_body = False
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip()
        where = f"{path.name}:{lineno}"
        if not line.strip() or (line.startswith("#") and not line.startswith("## ")):
            continue
        if line.startswith("## "):
            current = Conversation(kind, line[3:].strip(), lineno)
            if not re.fullmatch(r"\d{3}", current.number):
                raise SourceError(f"{where}: conversation number must be three digits")
            convs.append(current)
            in_body = False
            continue
        if current is None:
            raise SourceError(f"{where}: text before the first '## NNN' conversation header")
        if line == "---":
            in_body = True
        elif in_body:
            current.messages.append((lineno, line))
        elif m := PERSON.match(line):
            if m["key"] in current.people:
                raise SourceError(f"{where}: participant {m['key']} declared twice")
            age = None if m["age"] == "?" else int(m["age"])
            current.people[m["key"]] = Person(m["id"], age, m["note"])
        elif ":" in line and line.split(":", 1)[0] in HEADER_KEYS:
            key, value = line.split(":", 1)
            current.header[key] = value.strip()
        else:
            raise SourceError(f"{where}: expected a header (key: value), '@X id age' or '---'")
    return convs


def compile_conversation(conv: Conversation, path: Path) -> list[dict[str, object]]:
    def fail(lineno: int, why: str) -> SourceError:
        return SourceError(f"{path.name}:{lineno}: {why}")

    missing = sorted({"kind", "platform", "zone", "start", "labels"} - conv.header.keys())
    if missing:
        raise fail(conv.line, f"conversation {conv.number} lacks header(s) {', '.join(missing)}")
    try:
        zone = ZoneInfo(conv.header["zone"])
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise fail(conv.line, f"unknown time zone {conv.header['zone']!r}") from err
    try:
        start_local = datetime.strptime(conv.header["start"], "%Y-%m-%d %H:%M")
    except ValueError as err:
        raise fail(conv.line, "start must be 'YYYY-MM-DD HH:MM' (local time)") from err
    start = start_local.replace(tzinfo=zone)
    conv_labels = [x.strip() for x in conv.header["labels"].split(",")]
    if any(x not in LABELS for x in conv_labels):
        raise fail(conv.line, f"unknown conversation label in {conv_labels}")
    if len(conv.people) < 2:
        raise fail(conv.line, "a conversation needs at least two participants")
    ids = [p.id for p in conv.people.values()]
    if len(set(ids)) != len(ids):
        raise fail(conv.line, "two participants share an id")
    group = conv.header.get("group", "no") == "yes"
    benign_conv = conv_labels == ["benign"]
    kind = conv.header["kind"]
    platform = conv.header["platform"]
    conv_id = f"{conv.file}-{conv.number}"

    rows: list[dict[str, object]] = []
    prev = start - timedelta(seconds=1)
    for lineno, line in conv.messages:
        head, sep, text = line.partition(" | ")
        if not sep or not text.strip():
            raise fail(lineno, "a message is 'SPEAKER [TIME] [TAG] | text'")
        tokens = head.split()
        speaker = SPEAKER.match(tokens[0])
        if not speaker or speaker["sender"] not in conv.people:
            raise fail(lineno, f"unknown speaker {tokens[0]!r}")
        sender = conv.people[speaker["sender"]]
        to_key = speaker["recipient"]
        if to_key is None:
            others = [k for k in conv.people if k != speaker["sender"]]
            to_key = "*" if group or len(others) != 1 else others[0]
        if to_key != "*" and (to_key not in conv.people or to_key == speaker["sender"]):
            raise fail(lineno, f"bad recipient {to_key!r}")
        recipient = conv.people.get(to_key)
        times = [t for t in tokens[1:] if t[0] in "@" or REL_TIME.match(t) or DAY_AT.match(t)]
        rest = [t for t in tokens[1:] if t not in times]
        if len(times) > 1 or len(rest) > 1:
            raise fail(lineno, f"too many tokens before '|': {head!r}")
        time_token = times[0] if times else None
        try:
            at = next_time(time_token, prev if rows else start, zone, text)
            stage, labels = parse_tag(rest[0]) if rest else (None, ["benign"])
            needs_context = bool(rest) and rest[0].endswith("?")
        except ValueError as err:
            raise fail(lineno, str(err)) from err
        if rows and at <= prev:
            raise fail(lineno, f"time goes backwards or stands still ({at.isoformat()})")
        if benign_conv and labels != ["benign"]:
            raise fail(lineno, "a risky tag in a benign conversation")
        if not {"grooming", "sextortion"} & set(labels) <= set(conv_labels):
            raise fail(lineno, f"message labels {labels} not in the conversation's {conv_labels}")
        prev = at
        rows.append(
            {
                "id": f"{conv_id}-{len(rows) + 1}",
                "text": text.strip(),
                "labels": labels,
                "source_label": source_label(
                    conv_labels, kind, platform, benign_conv, stage, labels, sender, needs_context
                ),
                "conversation": conv_id,
                "turn": len(rows) + 1,
                "sender": sender.id,
                "sender_age": sender.age,
                "recipient": recipient.id if recipient else "*",
                "recipient_age": recipient.age if recipient else None,
                "at": at.isoformat(timespec="seconds"),
                "stage": stage,
                "conversation_labels": conv_labels,
            }
        )
    if not rows:
        raise fail(conv.line, f"conversation {conv.number} has no messages")
    if not benign_conv and all(r["labels"] == ["benign"] for r in rows):
        raise fail(conv.line, "a risky conversation without a single tagged message")
    return rows


def source_label(
    conv_labels: list[str],
    kind: str,
    platform: str,
    benign_conv: bool,
    stage: str | None,
    labels: list[str],
    sender: Person,
    needs_context: bool = False,
) -> str:
    if benign_conv:
        head = f"synthetic:benign:{kind}"
    elif labels == ["benign"]:
        head = f"synthetic:benign:turn-in-{'-'.join(conv_labels)}-conversation"
    elif stage:
        head = f"synthetic:grooming:{stage}"
    else:
        head = f"synthetic:{labels[0]}:{kind}"
    note = f"sender {sender.note}" if sender.note else None
    parts = [
        head,
        kind if not benign_conv else None,
        platform,
        note,
        "needs context" if needs_context else None,
    ]
    return "; ".join(p for p in parts if p)


def build(src: Path = SRC) -> dict[str, str]:
    """Return {output file name: JSONL text} for every kind found in src/."""
    by_kind: dict[str, list[Path]] = {}
    for path in sorted(src.glob("*.txt")):
        m = SRC_NAME.match(path.name)
        if not m:
            raise SourceError(f"{path.name}: source files are named <kind>-<NN>.txt")
        by_kind.setdefault(m["kind"], []).append(path)
    out: dict[str, str] = {}
    for kind, paths in sorted(by_kind.items()):
        lines: list[str] = []
        seen: dict[str, str] = {}
        for path in paths:
            for conv in read_blocks(path, kind):
                if conv.number in seen:
                    raise SourceError(
                        f"{path.name}:{conv.line}: conversation {conv.number} "
                        f"already in {seen[conv.number]}"
                    )
                seen[conv.number] = f"{path.name}:{conv.line}"
                for row in compile_conversation(conv, path):
                    lines.append(json.dumps(row, ensure_ascii=False))
        out[f"{kind}.jsonl"] = "".join(line + "\n" for line in lines)
    return out


def counts_table(built: dict[str, str]) -> str:
    """The README's table of files and counts, regenerated from the built files."""
    lines = [
        "| file | conversations | messages | turns per conversation | message labels |",
        "|---|---:|---:|---|---|",
    ]
    totals = {"risky": [0, 0], "benign": [0, 0]}
    for name, text in sorted(built.items()):
        rows = [json.loads(x) for x in text.splitlines()]
        turns: dict[str, int] = {}
        labels: dict[str, int] = {}
        for row in rows:
            turns[row["conversation"]] = row["turn"]
            for label in row["labels"]:
                labels[label] = labels.get(label, 0) + 1
        side = "benign" if name.startswith("benign") else "risky"
        totals[side][0] += len(turns)
        totals[side][1] += len(rows)
        label_text = ", ".join(
            f"{label} {labels[label]:,}" for label in LABELS if label in labels
        )
        lines.append(
            f"| `{name}` | {len(turns):,} | {len(rows):,} "
            f"| {min(turns.values())}–{max(turns.values())} | {label_text} |"
        )
    for side, title in (("risky", "grooming and sextortion"), ("benign", "benign look-alikes")):
        convs, msgs = totals[side]
        lines.append(f"| **{title}** | **{convs:,}** | **{msgs:,}** | | |")
    return "\n".join(lines) + "\n"


def readme_with_counts(readme: str, built: dict[str, str]) -> str:
    start, end = "<!-- counts -->\n", "<!-- /counts -->"
    if start not in readme or end not in readme:
        raise SourceError(f"README.md lacks the {start.strip()} ... {end} markers")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + counts_table(built) + end + tail


def main(argv: list[str] | None = None, folder: Path = HERE) -> int:
    """Build folder/src/*.txt into folder/*.jsonl and the counts in folder/README.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSONL is out of date")
    args = parser.parse_args(argv)
    readme_path = folder / "README.md"
    try:
        built = build(folder / "src")
        readme = readme_with_counts(readme_path.read_text(encoding="utf-8"), built)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = [
        name
        for name, text in built.items()
        if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != text
    ]
    orphans = sorted(
        p.name for p in folder.glob("*.jsonl") if p.name not in built
    )
    if readme != readme_path.read_text(encoding="utf-8"):
        stale.append("README.md")
    if args.check:
        for name in stale + orphans:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale or orphans else 0
    for name in stale:
        if name == "README.md":
            readme_path.write_text(readme, encoding="utf-8")
        else:
            (folder / name).write_text(built[name], encoding="utf-8")
    for name in orphans:
        (folder / name).unlink()
    for name, text in built.items():
        rows = [json.loads(x) for x in text.splitlines()]
        convs = len({r["conversation"] for r in rows})
        print(f"{name}: {convs} conversations, {len(rows)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
