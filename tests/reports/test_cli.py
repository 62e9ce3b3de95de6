"""``kidshield report ...`` on a real database file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app
from kidshield.clock import FixedClock
from kidshield.reports.intake import case_from_hash_match
from kidshield.reports.service import ReportService
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore
from kidshield.storage.schema import evidence

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def dbfile(tmp_path: Path) -> Path:
    path = tmp_path / "ks.db"
    db = Database.open(path)
    service = ReportService(SqlReportStore(db),
                            FixedClock(datetime(2026, 5, 1, 12, tzinfo=UTC)))
    case_from_hash_match(service, bank="b1", matched_hash="ab" * 32, distance=2)
    db.close()
    return path


def test_export_json_and_xml(dbfile: Path) -> None:
    code, out, _ = run("export", "1", "--format", "json", "--db", str(dbfile))
    assert code == 0
    package = json.loads(out)
    assert package["files"][0]["hash"] == "ab" * 32
    code, out, _ = run("export", "1", "--format", "xml", "--db", str(dbfile))
    assert code == 0 and out.startswith("<?xml") and "<hash>" + "ab" * 32 in out
    code, _, err = run("export", "1", "--format", "pdf", "--db", str(dbfile))
    assert code == 2 and "json or xml" in err
    code, _, err = run("export", "99", "--db", str(dbfile))
    assert code == 2 and "no case 99" in err


def test_verify_chain_ok_then_broken(dbfile: Path) -> None:
    code, out, _ = run("verify-chain", "--db", str(dbfile))
    assert code == 0 and "evidence chain ok: 1 records" in out
    db = Database.open(dbfile)
    with db.engine.begin() as conn:
        conn.execute(evidence.update().values(content='{"forged":true}'))
    db.close()
    code, _, err = run("verify-chain", "--db", str(dbfile))
    assert code == 1 and "broken at record 1" in err


def test_retention_dry_run_and_transparency_files(dbfile: Path, tmp_path: Path) -> None:
    code, out, _ = run("retention", "--dry-run", "--db", str(dbfile))
    assert code == 0 and "would delete" in out and "evidence" in out
    csv_file, html_file = tmp_path / "t.csv", tmp_path / "t.html"
    code, out, _ = run("transparency", "--from", "2026-05-01", "--to", "2026-05-31",
                       "--csv", str(csv_file), "--html", str(html_file), "--db", str(dbfile))
    assert code == 0, out
    assert "reports_by_source,hash_match,1" in csv_file.read_text()
    assert "Hash matches by bank" in html_file.read_text()
    code, _, err = run("transparency", "--from", "May", "--to", "2026-05-31", "--db",
                       str(dbfile))
    assert code == 2 and "not a date" in err


def test_missing_config_and_db_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("verify-chain", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "not found" in err


def test_import_matches_turns_media_match_records_into_cases_once(dbfile: Path) -> None:
    from kidshield.storage.schema import media_banks, media_match_records

    at = datetime.now(UTC)  # the import looks back over the reports retention time
    db = Database.open(dbfile)
    with db.engine.begin() as conn:
        bank = conn.execute(media_banks.insert().values(name="hotline", created_at=at)).lastrowid
        for h, cancelled in (("cd" * 32, None), ("cd" * 32, None), ("ef" * 32, "negatives")):
            conn.execute(media_match_records.insert().values(
                at=at, bank_id=bank, query_hash=h, matched_hash=h, distance=1,
                cancelled_by=cancelled))
    db.close()
    code, out, _ = run("import-matches", "--db", str(dbfile))
    assert code == 0 and "imported 2 matches into 1 cases" in out
    code, out, _ = run("import-matches", "--db", str(dbfile))
    assert "imported 0 matches" in out
    db = Database.open(dbfile)
    try:
        store = SqlReportStore(db)
        case = store.case(2)
        assert case is not None and case.case_type == "abuse_material"
        assert case.reports_count == 2
    finally:
        db.close()
