"""one state source: usage minute by minute, versions of run-time state, dashboard edits

Revision ID: 0008_state
Revises: 0007_hotline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_state"
down_revision = "0007_hotline"
branch_labels = None
depends_on = None

KINDS = ("grants", "pauses", "usage", "edits")


def upgrade() -> None:
    minutes = op.create_table(
        "usage_minutes",
        # day first: each sync reads the last two days (a range of the primary key's index)
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("profile", sa.String(64), primary_key=True),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("minute", sa.SmallInteger, primary_key=True, autoincrement=False),
    )
    # the old table kept a total per day: carry it over as that many minutes of unknown time
    # (negative minute numbers never meet the real ones, 0-1439)
    conn = op.get_bind()
    old = conn.execute(sa.text("SELECT profile, service, day, minutes FROM usage")).all()
    rows = [{"profile": r.profile, "service": r.service, "day": r.day, "minute": -n}
            for r in old for n in range(1, min(round(r.minutes), 1440) + 1)]
    if rows:
        op.bulk_insert(minutes, rows)
    op.drop_table("usage")
    versions = op.create_table(
        "state_versions",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.bulk_insert(versions, [{"kind": k, "version": 0} for k in KINDS])
    op.create_table(
        "config_edits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("field", sa.String(128), nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("base", sa.Text, nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ux_config_edits_active", "config_edits", ["target", "field"], unique=True,
                    sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index("ux_config_edits_active", "config_edits")
    op.drop_table("config_edits")
    op.drop_table("state_versions")
    op.create_table(
        "usage",
        sa.Column("profile", sa.String(64), primary_key=True),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("minutes", sa.Float, nullable=False, server_default="0"),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("INSERT INTO usage (profile, service, day, minutes) SELECT profile, service, "
               "day, COUNT(*) FROM usage_minutes GROUP BY profile, service, day")
    op.drop_table("usage_minutes")
