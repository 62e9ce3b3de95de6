"""Table definitions (SQLAlchemy Core). Migrations under ``migrations/`` create them; the stores
read and write them. Keep both in step: a test compares the migrated database with this file."""

from __future__ import annotations

import sqlalchemy as sa

from kidshield.storage.types import UTCDateTime

metadata = sa.MetaData()

# A parent's temporary or permanent permission for a profile to reach a domain.
grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile", sa.String(64), nullable=False, index=True),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("until", UTCDateTime(), nullable=True),  # NULL: no end
    sa.Column("granted_by", sa.String(128), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

# Active minutes per profile, service and local day (the day in the profile's time zone).
usage = sa.Table(
    "usage",
    metadata,
    sa.Column("profile", sa.String(64), primary_key=True),
    sa.Column("service", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("minutes", sa.Float, nullable=False, server_default="0"),
    sa.Column("last_seen", UTCDateTime(), nullable=True),
)

# What we know about each list source: where it came from and how the last fetch went.
list_meta = sa.Table(
    "list_meta",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("fetched_at", UTCDateTime(), nullable=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("rules", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_samples", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False, server_default="never"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
)

# One row per answered DNS query (or per blocked query only, when configured).
query_log = sa.Table(
    "query_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),  # seconds since 1970 (UTC)
    sa.Column("client", sa.String(64), nullable=True),  # NULL when addresses are not kept
    sa.Column("profile", sa.String(64), nullable=False, index=True),
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
    # identical answers (same client, name, type and outcome) within one second share a row
    sa.Column("count", sa.Integer, nullable=False, server_default="1"),
)

# ---------------------------------------------------------------------------------------------
# Media hash banks (issue 6). Hashes only: image bytes are never stored.
# ---------------------------------------------------------------------------------------------

# A named bank of hashes: kind "match" (report on match) or "negative" (cancels matches).
media_banks = sa.Table(
    "media_banks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="match"),
    sa.Column("signal_type", sa.String(32), nullable=False, server_default="pdq"),
    sa.Column("threshold", sa.Integer, nullable=False, server_default="31"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False, server_default=""),
)

# One hash in a bank, with where it came from.
media_bank_hashes = sa.Table(
    "media_bank_hashes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "bank_id",
        sa.Integer,
        sa.ForeignKey("media_banks.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("hash", sa.String(64), nullable=False),  # lower-case hex
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("reference_id", sa.Text, nullable=False, server_default=""),
    sa.Column("added_at", UTCDateTime(), nullable=False),
    sa.Column("added_by", sa.String(128), nullable=False, server_default=""),
    sa.UniqueConstraint("bank_id", "hash", name="uq_media_bank_hashes_bank_hash"),
)

# An auditable record of each match (the reports issue turns these into cases).
media_match_records = sa.Table(
    "media_match_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("bank_id", sa.Integer, sa.ForeignKey("media_banks.id"), nullable=False),
    sa.Column("bank_hash_id", sa.Integer, nullable=True),
    sa.Column("query_hash", sa.String(64), nullable=False),
    sa.Column("matched_hash", sa.String(64), nullable=False),
    sa.Column("distance", sa.Integer, nullable=False),
    sa.Column("quality", sa.Integer, nullable=True),
    sa.Column("variant", sa.String(16), nullable=False, server_default="original"),
    sa.Column("caller", sa.String(128), nullable=False, server_default=""),
    sa.Column("cancelled_by", sa.String(128), nullable=True),  # negative bank that cancelled it
)

# ---------------------------------------------------------------------------------------------
# Web app (issue 4): accounts, sessions, API tokens, the audit log, children's access requests,
# pauses that survive a restart, and small web settings (secret key, notification hook).
# ---------------------------------------------------------------------------------------------

web_users = sa.Table(
    "web_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("roles", sa.String(128), nullable=False, server_default="parent"),
    sa.Column("pin_hash", sa.Text, nullable=True),  # the parent PIN for child-page actions
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# Signed-in browsers. Only a SHA-256 of the cookie value is kept.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

# Bearer tokens for automation. Only a SHA-256 of the token is kept.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

# Append-only: who changed what, when. The stores offer no update or delete.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255), nullable=False, server_default=""),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

# A child's request to reach a blocked name, and the parent's answer.
access_requests = sa.Table(
    "access_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("profile", sa.String(64), nullable=False, index=True),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False, server_default=""),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("decision", sa.String(16), nullable=True),  # 30min | tonight | always | decline
    sa.Column("until", UTCDateTime(), nullable=True),
    sa.Column("reply", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("decided_by", sa.String(128), nullable=True),
)

# Protection paused for a profile until a time (kept across restarts).
pauses = sa.Table(
    "pauses",
    metadata,
    sa.Column("profile", sa.String(64), primary_key=True),
    sa.Column("until", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False, server_default=""),
)

web_settings = sa.Table(
    "web_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False, server_default=""),
)

# ---------------------------------------------------------------------------------------------
# Learning (issue 8): lesson progress per child profile. Kept on this server only, never shared;
# no names or answers, just the best quiz score per lesson.
# ---------------------------------------------------------------------------------------------

lesson_progress = sa.Table(
    "lesson_progress",
    metadata,
    sa.Column("profile", sa.String(64), primary_key=True),
    sa.Column("band", sa.String(16), primary_key=True),
    sa.Column("topic", sa.String(64), primary_key=True),
    sa.Column("best_score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completed_at", UTCDateTime(), nullable=False),
)
