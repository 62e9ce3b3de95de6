"""reports, cases, decisions, appeals, notes, audit, evidence chain, staff exposure

Revision ID: 0005_reports
Revises: 0004_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_reports"
down_revision = "0004_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("case_type", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("account", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("reporter_role", sa.String(16), nullable=False, server_default="anonymous"),
        sa.Column("contact", sa.Text, nullable=True),
        sa.Column("reporter_ip", sa.String(64), nullable=True),
        sa.Column("imminent_danger", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("media_record_id", sa.Integer, nullable=True, unique=True),
    )
    op.create_index("ix_reports_created_at", "reports", ["created_at"])
    op.create_index("ix_reports_case_id", "reports", ["case_id"])
    op.create_table(
        "report_drafts",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_type", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="new"),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dedup_key", sa.Text, nullable=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("account", sa.Text, nullable=True),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("imminent_danger", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("reports_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("child_reporter", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("first_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_dedup_key", "cases", ["dedup_key"])
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
    )
    op.create_index("ix_case_keys_key", "case_keys", ["key"])
    op.create_table(
        "case_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("ground", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("appeal_text", sa.Text, nullable=False, server_default=""),
        sa.Column("on_appeal", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reverses", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_case_decisions_case_id", "case_decisions", ["case_id"])
    op.create_table(
        "case_appeals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("decision_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("previous_reviewer", sa.String(128), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_case_appeals_case_id", "case_appeals", ["case_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "case_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_case_audit_case_id", "case_audit", ["case_id"])
    op.create_index("ix_case_audit_at", "case_audit", ["at"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("record_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evidence_case_id", "evidence", ["case_id"])
    op.create_table(
        "staff_exposure",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("reveals", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("staff_exposure")
    op.drop_index("ix_evidence_case_id", "evidence")
    op.drop_table("evidence")
    op.drop_index("ix_case_audit_case_id", "case_audit")
    op.drop_index("ix_case_audit_at", "case_audit")
    op.drop_table("case_audit")
    op.drop_index("ix_case_notes_case_id", "case_notes")
    op.drop_table("case_notes")
    op.drop_index("ix_case_appeals_case_id", "case_appeals")
    op.drop_table("case_appeals")
    op.drop_index("ix_case_decisions_case_id", "case_decisions")
    op.drop_table("case_decisions")
    op.drop_index("ix_cases_created_at", "cases")
    op.drop_index("ix_cases_dedup_key", "cases")
    op.drop_index("ix_case_keys_key", "case_keys")
    op.drop_table("case_keys")
    op.drop_table("cases")
    op.drop_table("report_drafts")
    op.drop_index("ix_reports_created_at", "reports")
    op.drop_index("ix_reports_case_id", "reports")
    op.drop_table("reports")
