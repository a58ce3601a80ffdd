"""Keeping the live catalog honest about its links: the marks of links that looked broken twice in a row,
loaded at start, after each weekly check, and whenever another replica has checked (polled)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Mapping

from bot.app.links_cli import weekly_link_check
from bot.app.posting import Posters
from bot.errors import BotError
from bot.service import BotService
from bot.storage import Store
from bot.storage.links_repo import LinksRepo

log = logging.getLogger(__name__)

POLL_EVERY = 60.0  # a weekly check elsewhere reaches this replica's answers within a minute


MARKS_KEY = "links:broken"  # the marks as JSON, for one-shot commands that read without SQLAlchemy


def save_marks(store: Store, repo: LinksRepo) -> dict[str, dt.date]:
    """The marks from the last two runs, also kept under MARKS_KEY (bot.storage.quick_read reads them)."""
    marks = {rid: first.date() for rid, (first, _url) in repo.broken_twice().items()}
    text = json.dumps({rid: day.isoformat() for rid, day in sorted(marks.items())})
    if store.get_sync(MARKS_KEY) != text:
        store.set_sync(MARKS_KEY, text)
    return marks


class CatalogCare:
    def __init__(self, service: BotService, store: Store, posters: Posters, review_channels: Mapping[str, str]) -> None:
        self.service = service
        self.store = store
        self.posters = posters
        self.review_channels = review_channels
        self.repo = LinksRepo(store.engine, store.clock)
        self._seen_run: str | None = None

    async def refresh(self) -> int:
        """Mark the resources whose main link failed in the last two checks; returns how many."""
        runs = await asyncio.to_thread(self.repo.latest_runs, 1)
        latest = runs[0].run_id if runs else None
        if latest == self._seen_run:
            return len(self.service.context.broken)
        marks = await asyncio.to_thread(save_marks, self.store, self.repo)
        self.service.set_broken(marks)
        self._seen_run = latest
        if marks:
            log.info("%d resource(s) marked: their link looked broken in two checks in a row", len(marks))
        return len(marks)

    async def weekly(self) -> None:
        await weekly_link_check(self.service, self.store, self.posters, self.review_channels)
        await self.refresh()

    async def run(self, stop: asyncio.Event, *, every: float = POLL_EVERY) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except BotError as exc:
                log.warning("link marks not refreshed (will retry): %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
