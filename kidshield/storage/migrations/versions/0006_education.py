"""learning: lesson progress per child profile

Revision ID: 0006_education
Revises: 0005_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_education"
down_revision = "0005_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lesson_progress",
        sa.Column("profile", sa.String(64), primary_key=True),
        sa.Column("band", sa.String(16), primary_key=True),
        sa.Column("topic", sa.String(64), primary_key=True),
        sa.Column("best_score", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lesson_progress")
