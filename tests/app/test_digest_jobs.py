"""The process's one scheduler: the digest tick runs on the bot's event loop, beside housekeeping."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.jobs import start_jobs
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MONDAY,
    bot_service,
    clock_fixture,
    digest_service,
    poster_fixture,
    slack,
    store_fixture,
)


async def test_the_scheduler_ticks_the_digest_on_the_running_loop(catalog, store, poster, clock):
    bot = bot_service(catalog, clock)
    digest = digest_service(bot, store, poster, clock)
    await bot.handle(slack("digest subscribe"))
    clock.set(MONDAY + dt.timedelta(seconds=1))
    jobs = start_jobs(store, digest=digest, tick_every=dt.timedelta(seconds=0.05),
                      first_tick_after=dt.timedelta(0))
    try:
        assert {job.id for job in jobs.scheduler.get_jobs()} == {"forget-old-claims", "digest-tick"}
        for _ in range(200):
            if poster.sent:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # several more ticks
    finally:
        await jobs.stop()
    assert len(poster.sent) == 1
    assert not jobs.scheduler.running


async def test_without_a_digest_only_housekeeping_is_scheduled(store):
    jobs = start_jobs(store)
    try:
        assert [job.id for job in jobs.scheduler.get_jobs()] == ["forget-old-claims"]
    finally:
        await jobs.stop()


async def test_a_shutdown_during_a_tick_logs_no_error_and_no_traceback(store, caplog):
    import asyncio
    import logging

    class SlowDigest:
        started = asyncio.Event()

        async def tick(self) -> int:
            self.started.set()
            await asyncio.sleep(3600)  # reading what is due from a database that does not answer
            return 0

        async def close(self, timeout: float = 10.0) -> None:
            return None

    caplog.set_level(logging.INFO)
    digest = SlowDigest()
    jobs = start_jobs(store, digest=digest, tick_every=dt.timedelta(seconds=0.05),  # type: ignore[arg-type]
                      first_tick_after=dt.timedelta(seconds=0))
    await asyncio.wait_for(digest.started.wait(), 5)
    await jobs.stop()
    await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
