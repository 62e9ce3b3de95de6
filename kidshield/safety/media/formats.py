"""Hash list exchange formats: plain hex lists, CSV with metadata, ThreatExchange signal CSV.

Parsing is pure (text lines in, rows and problems out) and never stops at a bad row: every
malformed or duplicate row is reported with its line number and the rest is kept.

Formats
-------
``hex``
    One hash per line. Blank lines and lines starting with ``#`` are ignored. A line may
    name the signal type first, as ThreatExchange's ``threatexchange hash`` prints it
    (``pdq <hex>``).
``csv``
    Columns ``hash,source,reference_id,added_at,added_by``. A header row naming the columns is
    recommended (columns may then come in any order; unknown columns are ignored); without a
    header the columns are taken in that order. ``added_at`` is ISO 8601 (UTC if no offset).
``te``
    The signal-type/hash layout of Meta's ThreatExchange tooling: ``<signal_type>,<signal>``
    followed by optional columns, of which the first is kept as the reference id
    (``pdq,<hex>,<id>,...``); the ThreatExchange API's name ``HASH_PDQ`` is the same type.
    Rows of other signal types are reported and skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from kidshield.errors import InputError
from kidshield.safety.media.signal import PdqSignal, SignalError
from kidshield.safety.media.store import BankHash

# a hash's source and reference_id, per row of a list as through the API (docs/media.md)
MAX_SOURCE = 200
MAX_REFERENCE = 200
# who added a hash (``--by``, a row's added_by): the database column is 128 wide, and a
# longer name would fail there (PostgreSQL) rather than be refused with the field named
MAX_BY = 128

CSV_COLUMNS = ("hash", "source", "reference_id", "added_at", "added_by")
# what ThreatExchange calls the PDQ signal type: in its Python tools, and in its API
PDQ_NAMES = (PdqSignal.name, "hash_pdq")


class HashListFormat(StrEnum):
    HEX = "hex"
    CSV = "csv"
    TE = "te"


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    kind: str  # malformed | duplicate | unsupported
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.message}"


@dataclass(slots=True)
class ParsedList:
    rows: list[tuple[int, BankHash]] = field(default_factory=list)  # (line, hash)
    problems: list[Problem] = field(default_factory=list)


def parse_format(name: str) -> HashListFormat:
    try:
        return HashListFormat(name.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in HashListFormat)
        raise InputError(f"unknown hash list format {name!r}; use one of: {known}") from None


def guess_format(filename: str, head: str) -> HashListFormat:
    """A format from the file name and its first line (``pdq,`` rows mean ThreatExchange)."""
    first = next((ln.strip() for ln in head.splitlines() if ln.strip()), "")
    if first.lower().startswith((*(f"{n}," for n in PDQ_NAMES), "signal_type,")):
        return HashListFormat.TE
    if filename.lower().endswith(".csv") or "," in first:
        return HashListFormat.CSV
    return HashListFormat.HEX


def parse(
    lines: Iterable[str], fmt: HashListFormat, *, source: str = "", added_by: str = ""
) -> ParsedList:
    """Parse a hash list; ``source``/``added_by`` fill in rows that do not name their own."""
    result = ParsedList()
    seen: dict[str, int] = {}
    rows = {
        HashListFormat.HEX: _hex_rows,
        HashListFormat.CSV: _csv_rows,
        HashListFormat.TE: _te_rows,
    }[fmt](lines, result.problems)
    for line, row in rows:
        try:
            canonical = PdqSignal.validate(row.hash)
        except SignalError as exc:
            result.problems.append(Problem(line, "malformed", str(exc)))
            continue
        too_long = [f"{name}: at most {limit} characters" for name, value, limit in
                    (("source", row.source, MAX_SOURCE),
                     ("reference_id", row.reference_id, MAX_REFERENCE),
                     ("added_by", row.added_by, MAX_BY)) if len(value) > limit]
        if too_long:
            result.problems.append(Problem(line, "malformed", "; ".join(too_long)))
            continue
        if canonical in seen:
            result.problems.append(
                Problem(line, "duplicate", f"{canonical} already on line {seen[canonical]}")
            )
            continue
        seen[canonical] = line
        result.rows.append(
            (
                line,
                BankHash(
                    hash=canonical,
                    source=row.source or source,
                    reference_id=row.reference_id,
                    added_at=row.added_at,
                    added_by=row.added_by or added_by,
                ),
            )
        )
    return result


def _hex_rows(lines: Iterable[str], problems: list[Problem]) -> Iterator[tuple[int, BankHash]]:
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        kind, _, rest = text.partition(" ")
        if rest and kind.lower() in PDQ_NAMES:  # "pdq <hex>", as threatexchange prints it
            text = rest.strip()
        yield number, BankHash(hash=text)


def _csv_rows(lines: Iterable[str], problems: list[Problem]) -> Iterator[tuple[int, BankHash]]:
    reader = csv.reader(_strip_newlines(lines))
    columns: tuple[str, ...] = CSV_COLUMNS
    first = True
    for cells in reader:
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if first:
            first = False
            names = tuple(c.strip().lower() for c in cells)
            if "hash" in names:
                columns = names
                continue
        values = dict(zip(columns, (c.strip() for c in cells), strict=False))
        added_at = None
        if values.get("added_at"):
            try:
                added_at = _parse_time(values["added_at"])
            except ValueError:
                problems.append(
                    Problem(
                        line,
                        "malformed",
                        f"added_at {values['added_at']!r} is not an ISO 8601 time "
                        "(e.g. 2024-05-01T12:00:00Z)",
                    )
                )
                continue
        yield (
            line,
            BankHash(
                hash=values.get("hash", ""),
                source=values.get("source", ""),
                reference_id=values.get("reference_id", ""),
                added_at=added_at,
                added_by=values.get("added_by", ""),
            ),
        )


def _te_rows(lines: Iterable[str], problems: list[Problem]) -> Iterator[tuple[int, BankHash]]:
    reader = csv.reader(_strip_newlines(lines))
    for cells in reader:
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        kind = cells[0].strip().lower()
        if kind in ("signal_type", "type"):
            continue  # header
        if len(cells) < 2:
            problems.append(
                Problem(line, "malformed", "expected '<signal_type>,<hash>', e.g. 'pdq,<64 hex>'")
            )
            continue
        if kind not in PDQ_NAMES:
            problems.append(
                Problem(line, "unsupported", f"signal type {kind!r} is not supported (only pdq)")
            )
            continue
        reference = cells[2].strip() if len(cells) > 2 else ""
        yield line, BankHash(hash=cells[1], reference_id=reference)


def _strip_newlines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line.rstrip("\r\n")


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def export_lines(hashes: Iterable[BankHash], fmt: HashListFormat) -> Iterator[str]:
    """The lines (with newline) of a hash list in ``fmt``."""
    if fmt is HashListFormat.HEX:
        for h in hashes:
            yield h.hash + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    if fmt is HashListFormat.CSV:
        writer.writerow(CSV_COLUMNS)
        yield take()
        for h in hashes:
            added = "" if h.added_at is None else h.added_at.astimezone(UTC).isoformat()
            writer.writerow([h.hash, h.source, h.reference_id, added, h.added_by])
            yield take()
        return
    for h in hashes:
        writer.writerow([PdqSignal.name, h.hash, h.reference_id])
        yield take()
