"""Table definitions (SQLAlchemy Core). Migrations under ``migrations/`` create them; the stores
read and write them. Keep both in step: a test compares the migrated database with this file."""

from __future__ import annotations

import sqlalchemy as sa

from kidshield.storage.types import UTCDateTime

metadata = sa.MetaData()
_ACTIVE = "status = 'active'"

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

# Each minute a profile used a service: minute of the profile's local day (0-1439; minutes
# carried over from the old per-day totals are negative). One row per minute, so two servers
# counting the same minute count it once.
usage_minutes = sa.Table(
    "usage_minutes",
    metadata,
    # day first: each sync reads the last two days (a range of the primary key's index)
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("profile", sa.String(64), primary_key=True),
    sa.Column("service", sa.String(64), primary_key=True),
    sa.Column("minute", sa.SmallInteger, primary_key=True, autoincrement=False),
)

# How many changes of each kind of run-time state (grants, pauses, usage, edits) were made:
# every node polls these few rows and re-reads only what moved (kidshield/state/).
state_versions = sa.Table(
    "state_versions",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
)

# Dashboard changes of settings, kept over the configuration file (docs/configuration.md).
# Values are JSON; ``base`` is the file's value when the change was made (NULL: absent).
config_edits = sa.Table(
    "config_edits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(128), nullable=False),
    sa.Column("field", sa.String(128), nullable=False),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("base", sa.Text, nullable=True),
    sa.Column("made_at", UTCDateTime(), nullable=False),
    sa.Column("made_by", sa.String(128), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    # one active change per setting, whichever node makes it (PostgreSQL's condition is
    # added by use_postgresql)
    sa.Index("ux_config_edits_active", "target", "field", unique=True,
             sqlite_where=sa.text(_ACTIVE)),
)


def use_postgresql() -> None:
    """Add the definitions' PostgreSQL-only options. Not done at import: naming one loads
    SQLAlchemy's PostgreSQL dialect, about 2 MB of memory and 25 ms that a SQLite install
    (the resolver, ``kidshield check``) would pay for nothing."""
    index = next(i for i in config_edits.indexes if i.name == "ux_config_edits_active")
    index.dialect_kwargs["postgresql_where"] = sa.text(_ACTIVE)

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
    # digits of the PIN (None: set before this was kept); shorter PINs are guessed slower
    sa.Column("pin_length", sa.Integer, nullable=True),
    # the name as one identity (protocols.account_key): unique, so `Anna` and `anna` are one
    # account even when added at once on two servers. NULL only for a case-duplicate made
    # before 0012, kept so its owner can still sign in with the name as typed
    sa.Column("name_key", sa.String(128), nullable=True, unique=True),
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

# Bearer tokens for automation. Only a SHA-256 of the token is kept. A token holds only what
# its scopes name (web/access.py), ends at expires_at, and a token issued by another token
# (parent_id) is revoked with it.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("scopes", sa.String(255), nullable=False,
              server_default="assess,dns,household,media,metrics,read,reports"),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("parent_id", sa.Integer, nullable=True, index=True),
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

# "Pause the internet now": everything but helplines and learning sites blocked until then
# (the opposite of a pause above, which lifts filtering). Versioned with the pauses.
internet_pauses = sa.Table(
    "internet_pauses",
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


# ---------------------------------------------------------------------------------------------
# Reports, cases and evidence (issue 7). Reporter contact and IP are kept only on opt-in.
# ---------------------------------------------------------------------------------------------

# One incoming report: from a person (web form, API) or a detection (text engine, hash match).
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),  # the reporter's receipt
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("case_type", sa.String(32), nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("account", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("reporter_role", sa.String(16), nullable=False, server_default="anonymous"),
    sa.Column("contact", sa.Text, nullable=True),  # only when the reporter gives it
    sa.Column("reporter_ip", sa.String(64), nullable=True),  # only when the reporter opts in
    sa.Column("imminent_danger", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("score", sa.Float, nullable=False, server_default="0"),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("case_id", sa.Integer, nullable=True, index=True),
    # the media_match_records row this report was imported from (hash-bank matches)
    sa.Column("media_record_id", sa.Integer, nullable=True, unique=True),
    # the notifier confirmed in good faith that the notice is accurate (DSA Art. 16(2)(d))
    sa.Column("good_faith", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("source_id", sa.Integer, nullable=True, index=True),  # report_sources row
    # received from a suspended source (DSA Art. 23): kept, not processed
    sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()),
)

# A half-written report, kept by its draft token so a reload does not lose it.
report_drafts = sa.Table(
    "report_drafts",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),  # JSON
)

# A case: one or more reports about the same thing (same URL, hash, conversation or account).
cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("case_type", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="new"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("dedup_key", sa.Text, nullable=True, index=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("account", sa.Text, nullable=True),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("imminent_danger", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("score", sa.Float, nullable=False, server_default="0"),
    sa.Column("reports_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("child_reporter", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("assignee", sa.String(128), nullable=True),
    sa.Column("first_action_at", UTCDateTime(), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("escalated_at", UTCDateTime(), nullable=True),
    sa.Column("legal_hold", sa.Boolean, nullable=False, server_default=sa.false()),
    # on-call: when the case must have been acted on, and the alerts sent about it
    sa.Column("target_at", UTCDateTime(), nullable=True),
    sa.Column("last_alert_at", UTCDateTime(), nullable=True),
    sa.Column("alerts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("police_notified_at", UTCDateTime(), nullable=True),
    # an escalation stays open (its evidence kept) until the analyst records its outcome
    sa.Column("escalation_closed_at", UTCDateTime(), nullable=True),
    sa.Column("trusted_flagger", sa.Boolean, nullable=False, server_default=sa.false()),
    # bumped by each write that decides the case (a decision, its proposal, sign-off or
    # rejection, an appeal), each conditional on the version its writer read: of two at the
    # same moment exactly one is stored
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # closed by a merge: its reports and keys moved to this case (its evidence stays here)
    sa.Column("merged_into", sa.Integer, nullable=True),
)

# The de-duplication keys of a case (url:, hash:, conversation:, account:).
case_keys = sa.Table(
    "case_keys",
    metadata,
    sa.Column("case_id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Index("ix_case_keys_key", "key"),
)

# A decision with its statement of reasons.
case_decisions = sa.Table(
    "case_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("ground", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("appeal_text", sa.Text, nullable=False, server_default=""),
    sa.Column("on_appeal", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reverses", sa.Boolean, nullable=False, server_default=sa.false()),
    # final | pending (waits for a second reviewer's sign-off) | rejected
    sa.Column("status", sa.String(16), nullable=False, server_default="final"),
    sa.Column("signed_off_by", sa.String(128), nullable=True),
    sa.Column("signed_off_at", UTCDateTime(), nullable=True),
    sa.Column("statement", sa.Text, nullable=False, server_default="{}"),  # DSA fields, JSON
    sa.Column("unfounded", sa.Boolean, nullable=False, server_default=sa.false()),
)

# An appeal against a decision; it is decided by a reviewer other than the first one.
case_appeals = sa.Table(
    "case_appeals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("decision_id", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("previous_reviewer", sa.String(128), nullable=False),
    sa.Column("assignee", sa.String(128), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),  # upheld | reversed
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

# Every view and change of a case (and changes to kidshield's own lists made from a case).
case_audit = sa.Table(
    "case_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=True, index=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

# Preserved evidence: a hash chain (record_hash = sha256(prev_hash + canonical JSON)). When
# retention purges a record its content goes, its digests stay, so the chain still verifies.
evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("content", sa.Text, nullable=True),  # canonical JSON; NULL once purged
    sa.Column("content_sha256", sa.String(64), nullable=False),
    # unique: two writers can never both link to the same record (no forks in the chain)
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("record_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("purged_at", UTCDateTime(), nullable=True),
)

# How many times a staff member revealed blurred evidence on a day (wellbeing).
staff_exposure = sa.Table(
    "staff_exposure",
    metadata,
    sa.Column("user", sa.String(128), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("reveals", sa.Integer, nullable=False, server_default="0"),
)


# ---------------------------------------------------------------------------------------------
# Hotline work (issue 18): referral assessment, on-call alerts, police notifications, notice
# sources (trusted flaggers, misuse), and the signed heads of the evidence chain.
# ---------------------------------------------------------------------------------------------

# The analyst's referral assessment of a case (ICCAM / CyberTipline fields), JSON.
case_referrals = sa.Table(
    "case_referrals",
    metadata,
    sa.Column("case_id", sa.Integer, primary_key=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),
)

# Each on-call alert sent (or tried) about a case, per channel.
case_alerts = sa.Table(
    "case_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),  # new | realert | overdue
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    # which of the case's alerts (``cases.alerts`` as its claim left it): one row per alert,
    # channel and target however many servers write it (NULL: a row from before migration
    # 0013 that repeated an older one)
    sa.Column("number", sa.Integer, nullable=True),
    sa.UniqueConstraint("case_id", "number", "channel", "target", name="uq_case_alerts_once"),
)

# When and how the police were told about a threat to a child's life or safety (DSA Art. 18).
police_notifications = sa.Table(
    "police_notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("recorded_by", sa.String(128), nullable=False),
    sa.Column("notified_at", UTCDateTime(), nullable=False),
    sa.Column("authority", sa.Text, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("reference", sa.Text, nullable=False, server_default=""),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
)

# Who sends notices: trusted flaggers (a key) and notifiers known by their contact (a hash of
# it, never the address itself), with misuse state (DSA Art. 22, 23).
report_sources = sa.Table(
    "report_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    sa.Column("kind", sa.String(16), nullable=False),  # trusted_flagger | notifier
    sa.Column("key_sha256", sa.String(64), nullable=True, unique=True),
    sa.Column("contact_sha256", sa.String(64), nullable=True, unique=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("warned_at", UTCDateTime(), nullable=True),
    sa.Column("suspended_until", UTCDateTime(), nullable=True),
    # False: contact_sha256 is a plain SHA-256 from before 0014, keyed on the next start
    sa.Column("contact_keyed", sa.Boolean, nullable=False, server_default=sa.true()),
)

# Signed heads of the evidence chain: (record count, newest record hash) signed with the
# server's Ed25519 key after every append, so truncation or a rewritten chain shows.
evidence_heads = sa.Table(
    "evidence_heads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)
