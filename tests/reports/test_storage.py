"""Migration 0005_reports: creates the reports tables, downgrades cleanly, stores no binaries."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from kidshield.storage.db import MIGRATIONS, Database
from kidshield.storage.schema import metadata

REPORT_TABLES = {"reports", "report_drafts", "cases", "case_keys", "case_decisions",
                 "case_appeals", "case_notes", "case_audit", "evidence", "staff_exposure"}


def test_migration_adds_and_removes_the_reports_tables(db: Database) -> None:
    assert set(sa.inspect(db.engine).get_table_names()) >= REPORT_TABLES
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003_media")
    assert not REPORT_TABLES & set(sa.inspect(db.engine).get_table_names())
    db.migrate()
    assert set(sa.inspect(db.engine).get_table_names()) >= REPORT_TABLES


def test_reports_tables_hold_no_binary_columns() -> None:
    for name in REPORT_TABLES:
        for column in metadata.tables[name].columns:
            assert not isinstance(column.type, sa.LargeBinary), column
