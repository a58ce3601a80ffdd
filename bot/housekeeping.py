"""Periodic upkeep while the bot runs (APScheduler on the bot's own event loop)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.storage import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# Claims only guard against Slack/Discord retries and double clicks, which arrive within minutes;
# a week is far beyond any retry window and keeps the table small for years.
CLAIM_RETENTION = dt.timedelta(days=7)


def forget_old_claims(store: Store, retention: dt.timedelta = CLAIM_RETENTION) -> int:
    removed = store.forget_claims_sync(retention)
    if removed:
        log.info("forgot %d claims older than %s", removed, retention)
    return removed


def start_housekeeping(store: Store, *, every: dt.timedelta = dt.timedelta(hours=6),
                       first_run_after: dt.timedelta = dt.timedelta(minutes=1)) -> AsyncIOScheduler:
    """Start the scheduler on the running loop; the caller shuts it down.

    The first run waits a minute: a bot that fails to start (a bad token) exits long before, so no
    job is ever cut off half-way by a shutdown racing it.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    # A plain function runs in the scheduler's thread pool, so the database never blocks the loop.
    scheduler.add_job(forget_old_claims, "interval", args=[store], seconds=every.total_seconds(),
                      id="forget-old-claims", next_run_time=dt.datetime.now(dt.UTC) + first_run_after,
                      coalesce=True, max_instances=1)
    scheduler.start()
    return scheduler
