"""account names unique however they are typed: `Anna` and `anna` are one account

Revision ID: 0012_account_name_key
Revises: 0011_case_version

Each account gets its name's key (case, width and spaces folded), unique. A database made
before this may already hold two accounts whose names differ only in case (added at the same
moment on two servers): the older keeps the key, the newer keeps NULL. Nothing is deleted and
the migration never fails on them; both still sign in with their name as typed and no new
account can take the key. An admin resolves them by renaming or deleting the newer one in SQL
(docs/storage.md "Several servers on one database").
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0012_account_name_key"
down_revision = "0011_case_version"
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    # frozen copy of kidshield.storage.protocols.account_key as of this migration: a later
    # change to that function needs a migration of its own, not a different past
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())[:128]


def upgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(128), nullable=True))
    users = sa.table("web_users", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("name_key", sa.String))
    conn = op.get_bind()
    taken: set[str] = set()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name)
                                      .order_by(users.c.id)).all():
        key = _key(str(name))
        if key in taken:
            continue  # a case-duplicate from before: kept, without the key
        taken.add(key)
        conn.execute(users.update().where(users.c.id == user_id).values(name_key=key))
    with op.batch_alter_table("web_users") as batch:
        batch.create_unique_constraint("uq_web_users_name_key", ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.drop_constraint("uq_web_users_name_key", type_="unique")
        batch.drop_column("name_key")
