"""pause the internet: a profile's internet paused (all but helplines and learning sites)

Revision ID: 0010_internet_pauses
Revises: 0009_security
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_internet_pauses"
down_revision = "0009_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "internet_pauses",
        sa.Column("profile", sa.String(64), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("internet_pauses")
