"""Persistence for what the bot must remember across restarts and replicas.

SQLite (one file, WAL) by default; PostgreSQL by `DATABASE_URL` when several replicas share state.
The schema is managed by Alembic migrations (migrations/), applied when the store opens and by
`mlops-bot db upgrade`. The curated catalog itself stays in YAML.
"""

from bot.storage.store import Store, open_store

__all__ = ["Store", "open_store"]
