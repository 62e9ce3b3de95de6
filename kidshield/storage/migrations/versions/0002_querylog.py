"""query log

Revision ID: 0002_querylog
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_querylog"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "query_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("qtype", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("rule", sa.Text, nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("upstream", sa.String(255), nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("rcode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_query_log_ts", "query_log", ["ts"])
    op.create_index("ix_query_log_profile", "query_log", ["profile"])


def downgrade() -> None:
    op.drop_index("ix_query_log_profile", "query_log")
    op.drop_index("ix_query_log_ts", "query_log")
    op.drop_table("query_log")
