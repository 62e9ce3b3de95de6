from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kidshield.errors import InputError
from kidshield.safety.media.formats import (
    HashListFormat,
    export_lines,
    guess_format,
    parse,
    parse_format,
)
from kidshield.safety.media.store import BankHash

H1 = "0123456789abcdef" * 4
H2 = "f" * 64
H3 = "a" * 63 + "b"


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_hex_list_skips_comments_and_reports_bad_and_duplicate_lines() -> None:
    result = parse(
        lines(f"# known hashes\n{H1}\n\nnot-a-hash\n{H2.upper()}\n{H1}\n"), HashListFormat.HEX
    )
    assert [(line, h.hash) for line, h in result.rows] == [(2, H1), (5, H2)]
    assert [(p.line, p.kind) for p in result.problems] == [(4, "malformed"), (6, "duplicate")]
    assert "line 2" in result.problems[1].message


def test_csv_with_header_reads_metadata_in_any_column_order() -> None:
    text = (
        "reference_id,hash,source,added_by,added_at,extra\n"
        f"case-1,{H1},ncmec,alice,2024-05-01T10:00:00Z,x\n"
        f"case-2,{H2},iwf,,,\n"
    )
    result = parse(lines(text), HashListFormat.CSV, source="default", added_by="bob")
    first, second = (h for _, h in result.rows)
    assert first == BankHash(H1, "ncmec", "case-1", datetime(2024, 5, 1, 10, tzinfo=UTC), "alice")
    assert (second.source, second.added_by, second.added_at) == ("iwf", "bob", None)
    assert result.problems == []


def test_csv_without_header_uses_the_documented_column_order() -> None:
    result = parse([f"{H1},src,ref"], HashListFormat.CSV)
    assert result.rows[0] == (1, BankHash(H1, "src", "ref"))


def test_csv_reports_bad_time_bad_hash_and_duplicate_with_line_numbers_and_keeps_going() -> None:
    text = (
        "hash,source,reference_id,added_at\n"
        f"{H1},a,1,yesterday\n"
        f"{H2[:-1]},a,2,\n"
        f"{H3},a,3,\n"
        f"{H3},a,4,\n"
        f"{H2},a,5,\n"
    )
    result = parse(lines(text), HashListFormat.CSV)
    assert [h.reference_id for _, h in result.rows] == ["3", "5"]
    assert [(p.line, p.kind) for p in result.problems] == [
        (2, "malformed"),
        (3, "malformed"),
        (5, "duplicate"),
    ]
    assert "ISO 8601" in result.problems[0].message
    assert "64 hexadecimal" in result.problems[1].message


def test_threatexchange_rows_keep_pdq_and_report_other_signal_types() -> None:
    text = (
        f"signal_type,signal,id\npdq,{H1},te-123,tag\nmd5,d41d8cd98f00b204e9800998ecf8427e\npdq\n"
    )
    result = parse(lines(text), HashListFormat.TE)
    assert result.rows == [(2, BankHash(H1, reference_id="te-123"))]
    assert [(p.line, p.kind) for p in result.problems] == [(3, "unsupported"), (4, "malformed")]


@pytest.mark.parametrize("fmt", list(HashListFormat))
def test_export_then_import_round_trips_in_every_format(fmt: HashListFormat) -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    hashes = [BankHash(H1, "ncmec", "r1", at, "alice"), BankHash(H2, "iwf, uk", "r,2", at, "bob")]
    exported = "".join(export_lines(hashes, fmt))
    parsed = parse(exported.splitlines(), fmt)
    assert parsed.problems == []
    back = [h for _, h in parsed.rows]
    assert [h.hash for h in back] == [H1, H2]
    if fmt is HashListFormat.CSV:
        assert back == hashes
    if fmt is HashListFormat.TE:
        assert exported.startswith(f"pdq,{H1},r1\n")
        assert [h.reference_id for h in back] == ["r1", "r,2"]


def test_format_names_and_guessing() -> None:
    assert parse_format("CSV") is HashListFormat.CSV
    with pytest.raises(InputError, match="hex, csv, te"):
        parse_format("xml")
    assert guess_format("x.txt", f"pdq,{H1}") is HashListFormat.TE
    assert guess_format("bank.csv", "hash,source") is HashListFormat.CSV
    assert guess_format("list.txt", H1) is HashListFormat.HEX
