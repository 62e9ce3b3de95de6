"""a case merged into another: cases.merged_into (an analyst joins two cases about one thing)

Revision ID: 0015_case_merge
Revises: 0014_contact_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_case_merge"
down_revision = "0014_contact_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as t:
        t.add_column(sa.Column("merged_into", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as t:
        t.drop_column("merged_into")
