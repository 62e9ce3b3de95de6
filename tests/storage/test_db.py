"""The database: migrations match the table definitions; unusable files give clear errors and are
left alone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kidshield.errors import StorageError
from kidshield.storage.db import Database, database_url
from kidshield.storage.schema import config_edits, metadata


def test_migrations_create_exactly_the_tables_of_the_schema(any_db_url: str) -> None:
    db = Database.open(any_db_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            tables = set(sa.inspect(conn).get_table_names())
        assert diff == []
        assert tables == {*metadata.tables, "alembic_version"}
        assert db.current_revision() == Database.head_revision()
    finally:
        db.close()


def test_migrations_are_idempotent_and_keep_data(tmp_path: Path) -> None:
    path = tmp_path / "ks.db"
    db = Database.open(path)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO list_meta (name, source) VALUES ('a', 'b')")
    db.close()
    db = Database.open(path)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT name FROM list_meta").scalars().all() == ["a"]
    finally:
        db.close()


def test_database_opens_in_a_new_folder(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "new" / "folder" / "ks.db")
    db.close()
    assert (tmp_path / "new" / "folder" / "ks.db").is_file()


def test_unmigrated_database_has_no_revision(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "ks.db", migrate=False)
    try:
        assert db.current_revision() is None
    finally:
        db.close()


def test_database_url() -> None:
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert database_url("/var/lib/ks.db") == "sqlite:////var/lib/ks.db"


def test_file_that_is_not_a_database_gives_a_clear_error_and_is_not_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ks.db"
    garbage = b"this is my tax return, not a database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StorageError) as info:
        Database.open(path).close()
    message = str(info.value)
    assert str(path) in message
    assert "not a usable kidshield database" in message
    assert "Restore it from a backup or move it aside" in message
    assert path.read_bytes() == garbage


def test_damaged_database_gives_a_clear_error_and_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ks.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x TEXT)")
    con.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(200)])
    con.commit()
    con.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 4 * page] = b"\xff" * (2 * page)  # smash two pages of the table
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError) as info:
        Database.open(path).close()
    message = str(info.value)
    assert str(path) in message
    assert "damaged" in message or "not a usable kidshield database" in message
    assert path.read_bytes() == bytes(data)


def test_a_sqlite_database_does_not_load_the_postgresql_dialect(tmp_path: Path) -> None:
    """The resolver and `kidshield check` read a SQLite database without holding SQLAlchemy's
    PostgreSQL dialect (about 2 MB and 25 ms)."""
    path = tmp_path / "ks.db"
    Database.open(path).close()  # migrated (alembic loads every dialect; the server migrates
    # in a child process, so that does not count here)
    code = (
        "import sys\n"
        "from kidshield.storage import schema, state_sql\n"
        "from kidshield.storage.db import Database\n"
        f"db = Database.open({str(path)!r}, migrate=False)\n"
        "state_sql.SqlStateStore(db).edits()\n"
        "db.close()\n"
        "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_on_postgresql_the_definitions_carry_its_partial_index_condition(pg_url: str) -> None:
    """Added when a PostgreSQL database is opened, as the migration made the index."""
    db = Database.open(pg_url)
    try:
        with db.engine.connect() as conn:
            made = conn.execute(sa.text("SELECT indexdef FROM pg_indexes "
                                        "WHERE indexname = 'ux_config_edits_active'")).scalar_one()
        index = next(i for i in config_edits.indexes if i.name == "ux_config_edits_active")
        assert "WHERE" in made and "'active'" in made
        assert str(index.dialect_options["postgresql"]["where"]) == "status = 'active'"
    finally:
        db.close()


def test_accounts_that_differ_only_in_case_survive_the_name_key_migration(
        any_db_url: str) -> None:
    """A live database may hold `Anna` and `anna` (added at once on two servers before names
    were unique however typed): migration 0012 keeps both, the older owns the name's key,
    each still signs in by its own spelling, and no third spelling can be added."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from kidshield.errors import Conflict
    from kidshield.storage.db import MIGRATIONS
    from kidshield.storage.web_sql import SqlUserStore

    db = Database(database_url(any_db_url))
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0011_case_version")
            for name in ("Anna", "anna", "Ben"):
                conn.execute(sa.text("INSERT INTO web_users (name, password_hash, roles, "
                                     "created_at) VALUES (:name, 'x', 'parent', :at)"),
                             {"name": name, "at": "2026-12-01 10:00:00+00:00"})
        db.migrate()
        users = SqlUserStore(db)
        by_name = {u.name: u for u in users.all()}
        with db.engine.connect() as conn:
            keys = dict(conn.execute(sa.text("SELECT name, name_key FROM web_users")).all())
        assert keys == {"Anna": "anna", "anna": None, "Ben": "ben"}
        assert users.by_name("anna") == by_name["anna"]
        assert users.by_name("Anna") == users.by_name("ANNA") == by_name["Anna"]
        with pytest.raises(Conflict):
            users.create("ANNA", "x", frozenset({"parent"}), datetime(2026, 12, 7, tzinfo=UTC))
        assert users.create("anna 2", "x", frozenset({"parent"}),
                            datetime(2026, 12, 7, tzinfo=UTC)).name == "anna 2"
    finally:
        db.close()


def test_alert_rows_from_before_numbering_survive_migration_0013(any_db_url: str) -> None:
    """A live database may hold one page's rows twice (two servers' sweeps at once) and a
    case whose count lost an increment: migration 0013 numbers the rows by the times the
    case was paged, leaves a repeated row without a number (nothing deleted, no failure),
    raises the count to the pages sent, and the next alert takes the next number."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from kidshield.reports.store import AlertRecord
    from kidshield.storage.db import MIGRATIONS
    from kidshield.storage.reports_sql import SqlReportStore

    db = Database(database_url(any_db_url))
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        first, second = "2026-12-01 10:00:00+00:00", "2026-12-01 10:00:01+00:00"
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0012_account_name_key")
            conn.execute(sa.text(
                "INSERT INTO cases (id, created_at, updated_at, case_type, imminent_danger, "
                "alerts) VALUES (7, :at, :at, 'grooming', :yes, 1)"), {"at": first, "yes": True})
            for at in (first, first, second):  # the first row twice; two servers paged
                conn.execute(sa.text(
                    "INSERT INTO case_alerts (case_id, at, reason, channel, target, ok, error) "
                    "VALUES (7, :at, 'new', 'ntfy', 'https://ntfy.test/oncall', :yes, '')"),
                    {"at": at, "yes": True})
        db.migrate()
        store = SqlReportStore(db)
        assert [(a.id, a.number) for a in store.alerts(7)] == [(1, 1), (2, None), (3, 2)]
        case = store.case(7)
        assert case is not None and case.alerts == 2
        assert store.claim_alert(7, case.alerts, datetime(2026, 12, 7, tzinfo=UTC)) == 3
        store.add_alert(AlertRecord(7, datetime(2026, 12, 7, tzinfo=UTC), "realert", "ntfy",
                                    "https://ntfy.test/oncall", True, number=3))
        assert [a.number for a in store.alerts(7)] == [1, None, 2, 3]
    finally:
        db.close()
