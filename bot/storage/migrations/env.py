"""Alembic's entry point. Migrations run only through bot.storage.database.migrate, which hands over
an open connection; there is no alembic.ini, so nothing here reads a URL or a file."""

from __future__ import annotations

from alembic import context

from bot.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
