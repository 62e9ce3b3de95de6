"""Reporters' e-mail digests are keyed (HMAC-SHA256 under a key beside the database), and
rows stored before that (plain SHA-256, migration 0013 and earlier) are keyed on the next
start and still find the same reporter: its suspension holds, no second row is made."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.config import parse_config
from kidshield.reports.contactkey import load_contact_key
from kidshield.reports.model import CaseType, Source
from kidshield.reports.records import NewReport
from kidshield.reports.setup import build_service
from kidshield.reports.sources import contact_digest, keyed
from kidshield.storage.db import Database, database_url

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _old_digest(address: str) -> str:
    """What the code before the key stored: SHA-256 of "contact:" and the address."""
    return hashlib.sha256(f"contact:{address}".encode()).hexdigest()


def _contacts(db: Database) -> list[tuple[int, str, str | None, bool]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, contact_sha256, contact_keyed "
                                    "FROM report_sources ORDER BY id"))
        return [(int(i), str(s), c, bool(k)) for i, s, c, k in rows]


def test_a_suspended_reporter_stored_unkeyed_is_still_held_after_the_migration(
        any_db_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from kidshield.storage.db import MIGRATIONS

    db = Database(database_url(any_db_url))
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        old = _old_digest("mum@example.org")
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0013_alert_once")
            conn.execute(sa.text(
                "INSERT INTO report_sources (id, created_at, name, kind, contact_sha256, "
                "status, suspended_until) VALUES (4, :at, '', 'notifier', :old, 'suspended', "
                ":until)"), {"at": "2026-12-01 10:00:00+00:00", "old": old,
                             "until": "2027-01-01 00:00:00+00:00"})
        db.migrate()
        assert _contacts(db) == [(4, "suspended", old, False)]  # not keyed without the key
        config = parse_config('[server]\ndata_dir = "data"\n', "k.toml", base_dir=tmp_path)
        service = build_service(config, db, FixedClock(NOW))
        key_file = tmp_path / "data" / "reporter-digest.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = load_contact_key(key_file)
        assert _contacts(db) == [(4, "suspended", keyed(key, old), True)]
        assert keyed(key, old) != old

        receipt = service.submit(NewReport(Source.API, CaseType.BULLYING,
                                           url="https://a.example/", contact=" Mum@Example.ORG"))
        assert receipt.case_id is None and receipt.held_until is not None  # still suspended
        assert len(_contacts(db)) == 1  # the same reporter, not a new one

        # the next start keys nothing twice
        build_service(config, db, FixedClock(NOW + timedelta(days=1)))
        assert _contacts(db) == [(4, "suspended", keyed(key, old), True)]
    finally:
        db.close()


def test_new_digests_are_keyed_and_differ_per_key() -> None:
    one, two = b"1" * 32, b"2" * 32
    assert contact_digest("Mum@example.org ", one) == keyed(one, _old_digest("mum@example.org"))
    assert contact_digest("mum@example.org", one) != contact_digest("mum@example.org", two)
    assert contact_digest("mum@example.org", one) != _old_digest("mum@example.org")
    assert contact_digest("not an address", one) is None


def test_a_damaged_key_file_is_a_clear_error_naming_it_and_is_not_replaced(
        tmp_path: Path) -> None:
    import pytest

    from kidshield.errors import KidshieldError

    db = Database.open(tmp_path / "ks.db")
    try:
        key_file = tmp_path / "data" / "reporter-digest.key"
        key_file.parent.mkdir()
        key_file.write_text("not hex\n", encoding="ascii")
        config = parse_config('[server]\ndata_dir = "data"\n', "k.toml", base_dir=tmp_path)
        with pytest.raises(KidshieldError, match=r"reporter-digest\.key: not a contact key"):
            build_service(config, db, FixedClock(NOW))
        assert key_file.read_text(encoding="ascii") == "not hex\n"
    finally:
        db.close()
