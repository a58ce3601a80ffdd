"""Persistence for what the bot must remember across restarts and replicas.

SQLite (one file, WAL) by default; PostgreSQL by `DATABASE_URL` when several replicas share state.
The schema is managed by Alembic migrations (migrations/), applied when the store opens and by
`mlops-bot db upgrade`. The curated catalog itself stays in YAML.

`Store` and `open_store` are resolved on first use: `bot.storage.quick_read`, which a one-shot search
uses, must not pay for importing SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.storage.store import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bot.storage import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
