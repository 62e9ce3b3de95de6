from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from kidshield.safety.media.banks import BankService
from kidshield.storage.db import Database
from kidshield.storage.schema import media_bank_hashes, media_banks, media_match_records, metadata

from .images import encode, picture

MEDIA_TABLES = (media_banks, media_bank_hashes, media_match_records)


def test_migration_0002_creates_the_media_tables_as_schema_py_declares(db: Database) -> None:
    # 0003_media is applied; later migrations (0005_reports, ...) may follow it
    assert db.current_revision() == Database.head_revision()
    inspector = sa.inspect(db.engine)
    for table in MEDIA_TABLES:
        migrated = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(migrated) == [c.name for c in table.columns]
        for column in table.columns:
            assert migrated[column.name]["nullable"] == column.nullable, column
    uniques = inspector.get_unique_constraints("media_bank_hashes")
    assert {"bank_id", "hash"} == set(uniques[0]["column_names"])
    assert "media_banks" in metadata.tables


def test_media_tables_have_no_binary_columns() -> None:
    for table in MEDIA_TABLES:
        for column in table.columns:
            assert not isinstance(column.type, sa.LargeBinary), column


def test_database_holds_hashes_but_never_image_bytes(db: Database, service: BankService) -> None:
    data = encode(picture(31), "JPEG", quality=90)
    service.create_bank("known")
    service.add("known", [service.match_image(data).hash])
    assert service.match_image(data, caller="x").matched
    db.close()
    raw = b"".join(p.read_bytes() for p in Path(db.where).parent.glob("kidshield.db*"))
    for offset in range(0, len(data) - 64, 997):
        assert data[offset : offset + 64] not in raw
    with db.engine.connect() as conn:
        for table in MEDIA_TABLES:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    assert not isinstance(value, bytes | bytearray | memoryview)
