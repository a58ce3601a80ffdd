"""Reading the approved resources for a one-shot `mlops-bot ask` or `search`, in milliseconds.

Importing SQLAlchemy costs about 0.2 s, more than answering the question. For a SQLite database whose
schema is current (a read needs no migration), the overlay is read with the standard library's sqlite3,
read-only. Anything else (PostgreSQL, an older schema, no database yet) says `None`, and the caller
opens the store the ordinary way.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from bot.core.catalog import Resource
from bot.storage.resource_json import resource_from_json

# Copies, kept equal by a test: importing the originals would import SQLAlchemy.
HEAD = "0004"  # bot.storage.database.HEAD
MARKS_KEY = "links:broken"  # bot.app.catalog_care.MARKS_KEY


def overlay(database_url: str) -> tuple[list[Resource], dict[str, dt.date]] | None:
    """The approved resources and the broken-link marks, or None (open the store the ordinary way)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or "?" in database_url:
        return None
    path = Path(database_url[len(prefix):]).expanduser()
    if not path.exists():
        return [], {}  # no database yet: nothing was approved or checked (and reading creates nothing)
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
        if version is None or version[0] != HEAD:
            return None
        rows = db.execute("SELECT data FROM approved_resources ORDER BY seq").fetchall()
        marks = db.execute("SELECT value FROM bot_state WHERE key = ?", (MARKS_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    approved = [r for (data,) in rows if (r := resource_from_json(data)) is not None]
    broken: dict[str, dt.date] = {}
    if marks is not None:
        try:
            broken = {rid: dt.date.fromisoformat(day) for rid, day in json.loads(marks[0]).items()}
        except (ValueError, TypeError, AttributeError):
            broken = {}
    return approved, broken
