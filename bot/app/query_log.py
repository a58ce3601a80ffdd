"""What members looked for: every command counted (its normalised query, how many it found, the platform),
never who asked. Recording costs a list append on the answer's path; a background task writes the
batch in one transaction off the event loop, every second or so. Rows older than QUERY_LOG_DAYS go.

If the process dies, the last second of counts is lost: they are statistics, not anything acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.commands import Command
from bot.core.normalize import fold
from bot.core.reply import Reply
from bot.storage.schema import query_log

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0
# A flood of requests while the database is down must not grow memory without bound: past this, the
# oldest unwritten counts are dropped (and said so once).
MAX_BUFFER = 50_000
MAX_QUERY = 200


def normalise_query(text: str) -> str:
    """How queries are grouped in the stats: case, accents and spacing folded (`Feature  Store` = `feature store`)."""
    return " ".join(fold(text).split())[:MAX_QUERY]


class QueryLog:
    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime], *, days: int = 90) -> None:
        self.engine = engine
        self.clock = clock
        self.days = days
        self._buffer: deque[dict[str, Any]] = deque(maxlen=MAX_BUFFER)
        self._dropped_said = False
        # The console chat has no background loop and one member: it writes each count at once.
        self.autoflush = False

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def observe(self, platform: str, command: Command, outcome: object) -> None:
        """The service's observer: one row per answered command (nothing for forms and pages past the first)."""
        if not self.enabled or not isinstance(outcome, Reply):
            return
        if len(self._buffer) == MAX_BUFFER and not self._dropped_said:
            self._dropped_said = True
            log.warning("query log: the database is not keeping up; the oldest counts are dropped")
        self._buffer.append({"at": self.clock(), "platform": platform[:16], "command": command.name[:32],
                             "query": normalise_query(command.args), "results": outcome.results})
        if self.autoflush:
            self.flush_sync()

    def shared(self, platform: str, resource_ids: list[str]) -> None:
        """A reply shared in a channel: which resources it showed (for "most shared")."""
        if self.enabled and resource_ids:
            self._buffer.append({"at": self.clock(), "platform": platform[:16], "command": "share", "query": "",
                                 "results": len(resource_ids), "resource_ids": ",".join(resource_ids)[:4000]})

    def flush_sync(self) -> int:
        rows: list[dict[str, Any]] = []
        while self._buffer:
            rows.append(self._buffer.popleft())
        if not rows:
            return 0
        for row in rows:
            row.setdefault("resource_ids", None)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(query_log), rows)
        except SQLAlchemyError as exc:
            self._buffer.extendleft(reversed(rows))  # kept for the next round, within MAX_BUFFER
            log.warning("query log: could not write %d rows (%s); will retry", len(rows), exc.__class__.__name__)
            return 0
        return len(rows)

    def forget_sync(self) -> int:
        cutoff = self.clock() - dt.timedelta(days=self.days)
        with self.engine.begin() as conn:
            return conn.execute(delete(query_log).where(query_log.c.at < cutoff)).rowcount or 0

    async def run(self, stop: asyncio.Event, *, every: float = FLUSH_EVERY) -> None:
        rounds = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            await asyncio.to_thread(self.flush_sync)
            rounds += 1
            if rounds % 3600 == 1:  # about hourly
                try:
                    removed = await asyncio.to_thread(self.forget_sync)
                except SQLAlchemyError as exc:
                    log.warning("query log: could not forget old rows: %s", exc.__class__.__name__)
                else:
                    if removed:
                        log.info("query log: forgot %d rows older than %d days", removed, self.days)
        # A clean stop writes what came in during the last round too.
        await asyncio.to_thread(self.flush_sync)
