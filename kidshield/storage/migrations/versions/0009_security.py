"""web security: token scopes, expiry and lineage; the length of the parent PIN

Revision ID: 0009_security
Revises: 0008_state

Tokens made before scopes existed keep working for 90 more days with every scope but
"tokens" (they can no longer issue tokens); the dashboard shows when they end. PINs set
before their length was kept count as short (slower guessing, and the parent is asked to
choose a 6-digit one) until they are next used correctly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0009_security"
down_revision = "0008_state"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
LEGACY_SCOPES = "assess,dns,household,media,metrics,read,reports"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.String(255), nullable=False,
                                   server_default=LEGACY_SCOPES))
        batch.add_column(sa.Column("expires_at", _TS, nullable=True))
        batch.add_column(sa.Column("parent_id", sa.Integer, nullable=True))
        batch.create_index("ix_api_tokens_parent_id", ["parent_id"])
        batch.create_index("ix_api_tokens_user_id", ["user_id"])
    tokens = sa.table("api_tokens", sa.column("expires_at", _TS))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=90)))
    with op.batch_alter_table("web_users") as batch:
        batch.add_column(sa.Column("pin_length", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.drop_column("pin_length")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user_id")
        batch.drop_index("ix_api_tokens_parent_id")
        batch.drop_column("parent_id")
        batch.drop_column("expires_at")
        batch.drop_column("scopes")
