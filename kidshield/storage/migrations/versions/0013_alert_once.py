"""on-call alerts numbered: one row per alert, channel and target however many servers write it

Revision ID: 0013_alert_once
Revises: 0012_account_name_key

Each alert row gets its alert's number (``cases.alerts`` once the alert was counted), and
(case, number, channel, target) is unique. Rows from before are numbered by the distinct
times a case was paged, oldest first; a row that repeats an earlier one (same case, time,
channel and target) keeps NULL, so nothing is deleted and the migration never fails on
them. A case whose count lost an increment (read plus one, two alerts at once) is raised to
the number of times it was paged, so a later alert's number is never an old one's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_alert_once"
down_revision = "0012_account_name_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_alerts") as batch:
        batch.add_column(sa.Column("number", sa.Integer, nullable=True))
    alerts = sa.table("case_alerts", sa.column("id", sa.Integer),
                      sa.column("case_id", sa.Integer), sa.column("at", sa.String),
                      sa.column("channel", sa.String), sa.column("target", sa.String),
                      sa.column("number", sa.Integer))
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("alerts", sa.Integer))
    conn = op.get_bind()
    times: dict[int, list[object]] = {}  # case -> the distinct times it was paged, in order
    taken: set[tuple[int, int, str, str]] = set()
    rows = conn.execute(sa.select(alerts.c.id, alerts.c.case_id, alerts.c.at,
                                  alerts.c.channel, alerts.c.target)
                        .order_by(alerts.c.case_id, alerts.c.at, alerts.c.id)).all()
    for row_id, case_id, at, channel, target in rows:
        paged = times.setdefault(case_id, [])
        if not paged or paged[-1] != at:
            paged.append(at)
        key = (case_id, len(paged), str(channel), str(target))
        if key in taken:
            continue  # a repeat of the row before it: kept, without a number
        taken.add(key)
        conn.execute(alerts.update().where(alerts.c.id == row_id).values(number=len(paged)))
    for case_id, paged in times.items():
        conn.execute(cases.update().where(cases.c.id == case_id, cases.c.alerts < len(paged))
                     .values(alerts=len(paged)))
    with op.batch_alter_table("case_alerts") as batch:
        batch.create_unique_constraint("uq_case_alerts_once",
                                       ["case_id", "number", "channel", "target"])


def downgrade() -> None:
    with op.batch_alter_table("case_alerts") as batch:
        batch.drop_constraint("uq_case_alerts_once", type_="unique")
        batch.drop_column("number")
