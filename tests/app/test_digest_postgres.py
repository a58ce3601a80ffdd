"""Several replicas on one PostgreSQL database: each channel's digest is posted once per period."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.digest import Cadence
from bot.storage import open_store
from bot.storage.digest_repo import DigestRepo
from tests.app.digest_fixtures import MONDAY, Clock, ListPoster, bot_service, digest_service, slack
from tests.pg import fresh_postgres_database

CHANNELS = 60
REPLICAS = 4


@pytest.fixture
def pg_url():
    with fresh_postgres_database() as url:
        yield url


async def test_replicas_ticking_at_once_post_each_channels_digest_once(catalog, pg_url):
    clock = Clock(MONDAY - dt.timedelta(days=1))
    poster = ListPoster()  # one workspace, seen by every replica
    stores = [open_store(pg_url) for _ in range(REPLICAS)]
    try:
        replicas = [digest_service(bot_service(catalog, clock), store, poster, clock) for store in stores]
        bot = replicas[0].bot
        for n in range(CHANNELS):
            assert not (await bot.handle(slack("digest subscribe", channel=f"C{n}"))).is_error
        clock.set(MONDAY + dt.timedelta(seconds=2))
        for _ in range(3):  # ticks that overlap, and ticks after
            await asyncio.gather(*(r.run_due() for r in replicas))
            clock.move(seconds=30)
        per_channel = {f"C{n}": len(poster.to(f"C{n}")) for n in range(CHANNELS)}
        assert set(per_channel.values()) == {1}
        repo = replicas[0].repo
        assert all(s.next_due_at == MONDAY + dt.timedelta(days=7) for s in repo.subscriptions())
    finally:
        for store in stores:
            store.close()


def test_of_many_claims_racing_for_one_period_exactly_one_wins(pg_url):
    stores = [open_store(pg_url) for _ in range(8)]
    try:
        repo = DigestRepo(stores[0].engine)
        sub = repo.subscribe("slack", "C1", Cadence(0, 9, 0, "UTC"), MONDAY, MONDAY)
        now = MONDAY + dt.timedelta(seconds=1)
        lease = dt.timedelta(minutes=3)

        def claim(store):
            return DigestRepo(store.engine).claim(sub.id, "2026-03-02", MONDAY, now, lease)

        with ThreadPoolExecutor(len(stores)) as pool:
            first = list(pool.map(claim, stores))
        assert sum(c is not None for c in first) == 1
        # The lease runs out: again one of them takes it over, and knows to look before posting.
        later = now + lease + dt.timedelta(seconds=1)

        def take_over(store):
            return DigestRepo(store.engine).claim(sub.id, "2026-03-02", MONDAY, later, lease)

        with ThreadPoolExecutor(len(stores)) as pool:
            second = [c for c in pool.map(take_over, stores) if c is not None]
        assert len(second) == 1 and second[0].maybe_posted and second[0].attempts == 2
    finally:
        for store in stores:
            store.close()
