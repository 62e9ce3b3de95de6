"""hotline work: referral assessments, on-call alerts, police notifications, notice sources,
decision sign-off and DSA fields, signed evidence heads

Revision ID: 0007_hotline
Revises: 0006_education
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_hotline"
down_revision = "0006_education"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("reports") as t:
        t.add_column(sa.Column("good_faith", sa.Boolean, nullable=False,
                               server_default=sa.false()))
        t.add_column(sa.Column("source_id", sa.Integer, nullable=True))
        t.add_column(sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()))
        t.create_index("ix_reports_source_id", ["source_id"])
    with op.batch_alter_table("cases") as t:
        t.add_column(sa.Column("target_at", TS, nullable=True))
        t.add_column(sa.Column("last_alert_at", TS, nullable=True))
        t.add_column(sa.Column("alerts", sa.Integer, nullable=False, server_default="0"))
        t.add_column(sa.Column("police_notified_at", TS, nullable=True))
        t.add_column(sa.Column("escalation_closed_at", TS, nullable=True))
        t.add_column(sa.Column("trusted_flagger", sa.Boolean, nullable=False,
                               server_default=sa.false()))
    with op.batch_alter_table("case_decisions") as t:
        t.add_column(sa.Column("status", sa.String(16), nullable=False,
                               server_default="final"))
        t.add_column(sa.Column("signed_off_by", sa.String(128), nullable=True))
        t.add_column(sa.Column("signed_off_at", TS, nullable=True))
        t.add_column(sa.Column("statement", sa.Text, nullable=False, server_default="{}"))
        t.add_column(sa.Column("unfounded", sa.Boolean, nullable=False,
                               server_default=sa.false()))
    op.create_table(
        "case_referrals",
        sa.Column("case_id", sa.Integer, primary_key=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "case_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "police_notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False, index=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("notified_at", TS, nullable=False),
        sa.Column("authority", sa.Text, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("reference", sa.Text, nullable=False, server_default=""),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "report_sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=True, unique=True),
        sa.Column("contact_sha256", sa.String(64), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("warned_at", TS, nullable=True),
        sa.Column("suspended_until", TS, nullable=True),
    )
    op.create_table(
        "evidence_heads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    for table in ("evidence_heads", "report_sources", "police_notifications", "case_alerts",
                  "case_referrals"):
        op.drop_table(table)
    with op.batch_alter_table("case_decisions") as t:
        for column in ("unfounded", "statement", "signed_off_at", "signed_off_by", "status"):
            t.drop_column(column)
    with op.batch_alter_table("cases") as t:
        for column in ("trusted_flagger", "escalation_closed_at", "police_notified_at",
                       "alerts", "last_alert_at", "target_at"):
            t.drop_column(column)
    with op.batch_alter_table("reports") as t:
        t.drop_index("ix_reports_source_id")
        for column in ("held", "source_id", "good_faith"):
            t.drop_column(column)
