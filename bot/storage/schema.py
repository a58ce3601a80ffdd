"""The database's tables, as the latest migration leaves them (bot/storage/migrations holds the history).

Times are stored in UTC. SQLite keeps them naive, so repositories read them back through `utc()`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

metadata = MetaData()

kv = Table(
    "bot_state", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# "Has anyone done X?" across retries, restarts and replicas. A claim is taken with a lease and
# marked done once the work was accepted; a lease that ran out without "done" (the process died
# between the two) may be taken again, so a kill -9 never loses the work for good.
claims = Table(
    "claims", metadata,
    Column("key", String(300), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("state", String(10), nullable=False, server_default="done"),
    Column("lease_until", DateTime(timezone=True), nullable=True),
)

CLAIMED, DONE = "claimed", "done"


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
