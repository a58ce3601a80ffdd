"""Persistence for what the bot must remember across restarts and replicas.

SQLite (one file, WAL) by default; PostgreSQL by `DATABASE_URL` when several replicas share state.
The catalog itself stays in YAML: this stores only bot state (claims, small key/values).
"""

from bot.storage.store import Store, open_store

__all__ = ["Store", "open_store"]
