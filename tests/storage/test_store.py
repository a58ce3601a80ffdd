"""The store on a real SQLite file, and on the local PostgreSQL server when it is there."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest

from bot.errors import StorageError
from bot.storage import Store, open_store
from tests.pg import fresh_postgres_database


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/state/bot.db")
    yield store
    store.close()


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    with fresh_postgres_database() as url:
        store = open_store(url)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


def test_claim_is_first_come_only(store):
    assert store.claim_sync("slack:share:123") is True
    assert store.claim_sync("slack:share:123") is False
    assert store.claim_sync("slack:share:124") is True


async def test_concurrent_claims_have_one_winner(store):
    results = await asyncio.gather(*(store.claim("discord:share:9") for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


def test_key_values_survive_reopening(tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    first = open_store(url)
    first.set_sync("discord:commands:global", "abc")
    first.set_sync("discord:commands:global", "def")
    first.close()
    again = open_store(url)
    assert again.get_sync("discord:commands:global") == "def"
    assert again.get_sync("missing") is None
    again.close()


def test_key_values(store):
    store.set_sync("k", "v1")
    store.set_sync("k", "v2")
    assert store.get_sync("k") == "v2"


def test_old_claims_are_forgotten(store):
    store.claim_sync("a")
    assert store.forget_claims_sync(dt.timedelta(seconds=-1)) == 1
    assert store.claim_sync("a") is True


def test_sqlite_uses_wal(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_unreachable_database_is_a_storage_error():
    with pytest.raises(StorageError) as info:
        open_store("postgresql://nobody:hunter2@127.0.0.1:1/none")
    assert "hunter2" not in str(info.value)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_claim_whose_holder_died_is_free_again_once_its_lease_runs_out(store):
    clock = Clock()
    store.clock = clock
    assert store.claim_sync("share:1", lease=dt.timedelta(seconds=60)) is True
    # The holder is killed before it posts: nothing marks the claim done.
    clock.now += dt.timedelta(seconds=59)
    assert store.claim_sync("share:1") is False
    clock.now += dt.timedelta(seconds=2)
    assert store.claim_sync("share:1") is True
    assert store.claim_state_sync("share:1") == "claimed"


def test_a_completed_claim_is_never_taken_again(store):
    clock = Clock()
    store.clock = clock
    assert store.claim_sync("digest:1:2026-12-07") is True
    store.complete_sync("digest:1:2026-12-07")
    clock.now += dt.timedelta(days=3)
    assert store.claim_sync("digest:1:2026-12-07") is False
    assert store.claim_state_sync("digest:1:2026-12-07") == "done"


def test_a_released_claim_may_be_taken_at_once(store):
    assert store.claim_sync("share:2") is True
    store.release_sync("share:2")
    assert store.claim_sync("share:2") is True


def test_releasing_never_undoes_a_completed_claim(store):
    assert store.claim_sync("share:3") is True
    store.complete_sync("share:3")
    store.release_sync("share:3")
    assert store.claim_state_sync("share:3") == "done"


async def test_concurrent_takers_of_an_expired_lease_have_one_winner(store):
    clock = Clock()
    store.clock = clock
    assert store.claim_sync("digest:9") is True
    clock.now += dt.timedelta(minutes=5)
    results = await asyncio.gather(*(store.claim("digest:9") for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
