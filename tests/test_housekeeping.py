"""Housekeeping: old claims are forgotten on a schedule, recent ones kept."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import update

from bot.housekeeping import CLAIM_RETENTION, forget_old_claims, start_housekeeping
from bot.storage import open_store
from bot.storage.store import claims


def age_claim(store, key: str, days: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(claims).where(claims.c.key == key)
                     .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)))


def test_forget_old_claims_keeps_recent_ones(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/bot.db")
    store.claim_sync("old")
    store.claim_sync("new")
    age_claim(store, "old", CLAIM_RETENTION.days + 1)
    assert forget_old_claims(store) == 1
    assert store.claim_sync("old") is True and store.claim_sync("new") is False
    store.close()


async def test_scheduler_runs_the_job_on_the_loop(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/bot.db")
    store.claim_sync("old")
    age_claim(store, "old", 30)
    scheduler = start_housekeeping(store, every=dt.timedelta(hours=1), first_run_after=dt.timedelta(0))
    try:
        assert [job.id for job in scheduler.get_jobs()] == ["forget-old-claims"]
        for _ in range(100):  # the first run is due at once here
            if store.claim_sync("old"):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the old claim was never forgotten")
    finally:
        scheduler.shutdown(wait=False)
        store.close()
