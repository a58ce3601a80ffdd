"""The store on a real SQLite file, and on the local PostgreSQL server when it is there."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from bot.errors import StorageError
from bot.storage import Store, open_store

PG_ADMIN_URL = os.environ.get("MLOPS_BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/state/bot.db")
    yield store
    store.close()


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL storage, but nothing listens on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (CI runs this)")
    from sqlalchemy import create_engine, text

    name = f"mlops_bot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    store = open_store(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


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
