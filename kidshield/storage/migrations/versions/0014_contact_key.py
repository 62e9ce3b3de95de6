"""reporters' e-mail digests keyed: report_sources.contact_keyed

Revision ID: 0014_contact_key
Revises: 0013_alert_once

A reporter's contact was stored as an unsalted SHA-256, which anyone holding the database
could test addresses against. It is now HMAC-SHA256, under a key kept beside the database
(``[reports] contact_key``), of that same SHA-256. The migration cannot see the key (it runs
from every command, some in a child process given only the database URL), so it marks the
existing rows unkeyed (False) and the reports service keys them, in one locked transaction,
when it is next built with the key (``SqlReportStore.key_contacts``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_contact_key"
down_revision = "0013_alert_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_sources") as batch:
        batch.add_column(sa.Column("contact_keyed", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("report_sources") as batch:
        batch.alter_column("contact_keyed", server_default=sa.true())


def downgrade() -> None:
    with op.batch_alter_table("report_sources") as batch:
        batch.drop_column("contact_keyed")
