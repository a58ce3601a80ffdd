"""The process's one scheduler: APScheduler 3.x on the bot's own event loop, for upkeep and the digest tick.

APScheduler decides nothing here: it keeps no job store that outlives the process and knows nothing of
other replicas. The digest tick reads what is due from the database every DIGEST_TICK, in every replica
(bot.app.digest); housekeeping forgets old claims.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import metrics
from bot.housekeeping import forget_old_claims
from bot.storage import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app.digest import DigestService

log = logging.getLogger(__name__)

DIGEST_TICK = dt.timedelta(seconds=30)
HOUSEKEEPING_EVERY = dt.timedelta(hours=6)
# The first runs wait: a bot that fails to start (a bad token) exits before any job is cut off half-way,
# and the platforms' posters are connected by the time the digest first ticks.
FIRST_HOUSEKEEPING_AFTER = dt.timedelta(minutes=1)
FIRST_TICK_AFTER = dt.timedelta(seconds=15)
LINK_CHECK_HOUR = 4  # UTC: a quiet hour for most communities, and for the sites checked


class Jobs:
    """The running scheduler and what its jobs started; `await stop()` before the store closes."""

    def __init__(self, scheduler: AsyncIOScheduler, digest: DigestService | None) -> None:
        self.scheduler = scheduler
        self.digest = digest

    async def stop(self, timeout: float = 10.0) -> None:
        """No new runs; a housekeeping run finishes; digests being posted get `timeout` seconds."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
            # AsyncIOScheduler.shutdown is carried out by the loop (call_soon_threadsafe): let it run now.
            await asyncio.sleep(0)
        if self.digest is not None:
            await self.digest.close(timeout)


def start_jobs(store: Store, *, digest: DigestService | None = None, tick_every: dt.timedelta = DIGEST_TICK,
               first_tick_after: dt.timedelta = FIRST_TICK_AFTER,
               housekeeping_every: dt.timedelta = HOUSEKEEPING_EVERY,
               first_housekeeping_after: dt.timedelta = FIRST_HOUSEKEEPING_AFTER,
               link_check: tuple[str, Callable[[], Awaitable[object]]] | None = None) -> Jobs:
    """Start the scheduler on the running event loop with housekeeping and, given a DigestService, its tick.

    Call it from inside the loop (in `_serve_platforms`), once per process.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    # Two INFO lines a tick ("Running job", "executed successfully"), 5,800 a day a replica: only trouble.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    # A plain function runs in the scheduler's thread pool, so the database never blocks the loop.
    scheduler.add_job(forget_old_claims, "interval", args=[store], seconds=housekeeping_every.total_seconds(),
                      id="forget-old-claims", next_run_time=now + first_housekeeping_after,
                      coalesce=True, max_instances=1)
    if link_check is not None:
        day, check = link_check
        # Every replica runs it; the check claims its ISO week in the database, so one of them checks.
        # APScheduler 3 counts Monday as 0, which its day names avoid having to know.
        scheduler.add_job(_guarded, "cron", args=[check, "weekly link check"], day_of_week=day[:3],
                          hour=LINK_CHECK_HOUR, timezone=dt.UTC, id="link-check", coalesce=True, max_instances=1,
                          misfire_grace_time=6 * 3600)
    if digest is not None:
        # A coroutine job runs on the loop. tick() only starts the posts and returns, so a long fan-out never
        # makes the scheduler skip a tick; missed ticks (a stalled loop) are folded into one.
        scheduler.add_job(_tick, "interval", args=[digest], seconds=tick_every.total_seconds(), id="digest-tick",
                          next_run_time=now + first_tick_after, coalesce=True, max_instances=1,
                          misfire_grace_time=None)
    scheduler.start()
    return Jobs(scheduler, digest)


async def _guarded(work: Callable[[], Awaitable[object]], what: str) -> None:
    try:
        await work()
    except asyncio.CancelledError:
        log.info("%s stopped by the shutdown; it runs again next time", what)
    except Exception:  # a job must never take the scheduler down: logged, and next week it runs again
        log.exception("%s failed", what)


async def _tick(digest: DigestService) -> None:
    try:
        with metrics.time_tick():
            await digest.tick()
    except asyncio.CancelledError:
        # The shutdown cancels a tick still reading what is due: nothing was claimed yet, or a claim's lease
        # lets another replica (or the next start) take it. Not an error worth a traceback.
        log.info("digest tick stopped by the shutdown")
    except Exception as exc:  # the database away for a moment: what is due stays due for the next tick
        log.warning("digest tick failed: %s", exc)
