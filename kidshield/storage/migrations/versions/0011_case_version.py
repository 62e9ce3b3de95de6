"""a case's decision version: decisions, sign-offs and appeals are written only if the case
is still as their writer read it, so of two at the same moment exactly one is stored

Revision ID: 0011_case_version
Revises: 0010_internet_pauses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_case_version"
down_revision = "0010_internet_pauses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as t:
        t.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as t:
        t.drop_column("version")
