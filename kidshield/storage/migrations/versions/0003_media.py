"""media hash banks: banks, bank hashes, match records

Revision ID: 0003_media
Revises: 0002_querylog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_media"
down_revision = "0002_querylog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_banks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, server_default="match"),
        sa.Column("signal_type", sa.String(32), nullable=False, server_default="pdq"),
        sa.Column("threshold", sa.Integer, nullable=False, server_default="31"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False, server_default=""),
    )
    op.create_table(
        "media_bank_hashes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "bank_id",
            sa.Integer,
            sa.ForeignKey("media_banks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("reference_id", sa.Text, nullable=False, server_default=""),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False, server_default=""),
        sa.UniqueConstraint("bank_id", "hash", name="uq_media_bank_hashes_bank_hash"),
    )
    op.create_index("ix_media_bank_hashes_bank_id", "media_bank_hashes", ["bank_id"])
    op.create_table(
        "media_match_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bank_id", sa.Integer, sa.ForeignKey("media_banks.id"), nullable=False),
        sa.Column("bank_hash_id", sa.Integer, nullable=True),
        sa.Column("query_hash", sa.String(64), nullable=False),
        sa.Column("matched_hash", sa.String(64), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.Column("variant", sa.String(16), nullable=False, server_default="original"),
        sa.Column("caller", sa.String(128), nullable=False, server_default=""),
        sa.Column("cancelled_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_media_match_records_at", "media_match_records", ["at"])


def downgrade() -> None:
    op.drop_index("ix_media_match_records_at", "media_match_records")
    op.drop_table("media_match_records")
    op.drop_index("ix_media_bank_hashes_bank_id", "media_bank_hashes")
    op.drop_table("media_bank_hashes")
    op.drop_table("media_banks")
