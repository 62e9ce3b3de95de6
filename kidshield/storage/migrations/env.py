"""Alembic environment: kidshield runs migrations itself on start (``Database.migrate``)."""

from __future__ import annotations

from alembic import context

from kidshield.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through kidshield (Database.migrate)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
