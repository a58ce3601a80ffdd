"""The schema's history: a database from release 0.1.0 upgrades in place, nothing lost, on both backends."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, inspect, text

from bot.errors import ConfigError, StorageError
from bot.storage import open_store
from bot.storage.database import HEAD, MIGRATIONS, database_url
from tests.pg import fresh_postgres_database


def release_0_1_0_tables() -> MetaData:
    """The tables exactly as 0.1.0 declared them (it made them with create_all, without Alembic)."""
    metadata = MetaData()
    Table("bot_state", metadata,
          Column("key", String(200), primary_key=True),
          Column("value", Text, nullable=False),
          Column("updated_at", DateTime(timezone=True), nullable=False))
    Table("claims", metadata,
          Column("key", String(300), primary_key=True),
          Column("created_at", DateTime(timezone=True), nullable=False, index=True))
    return metadata


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
    else:
        with fresh_postgres_database() as url:
            yield url


def driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


def test_a_database_of_release_0_1_0_upgrades_in_place_with_its_rows(empty_database):
    old = create_engine(driver_url(empty_database))
    release_0_1_0_tables().create_all(old)
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with old.begin() as conn:
        conn.execute(text("INSERT INTO bot_state (key, value, updated_at) VALUES ('discord:commands:1:global', "
                          "'abc', :t)"), {"t": when})
        conn.execute(text("INSERT INTO claims (key, created_at) VALUES ('slack:share:T:C:1:x', :t)"), {"t": when})
    old.dispose()

    store = open_store(empty_database)
    try:
        assert store.get_sync("discord:commands:1:global") == "abc"
        # An old claim cannot tell whether its work happened: it counts as done, never redone.
        assert store.claim_state_sync("slack:share:T:C:1:x") == "done"
        assert store.claim_sync("slack:share:T:C:1:x") is False
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    finally:
        store.close()


def test_a_new_database_gets_every_table_and_reopening_changes_nothing(empty_database):
    first = open_store(empty_database)
    first.set_sync("k", "v")
    tables = set(inspect(first.engine).get_table_names())
    first.close()
    assert {"bot_state", "claims", "alembic_version"} <= tables
    again = open_store(empty_database)
    assert again.get_sync("k") == "v"
    again.close()


def test_the_head_constant_names_the_newest_migration():
    revisions = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision = "(\w+)"', source, re.M)[1]
        down = re.search(r"^down_revision = (None|\"\w+\")", source, re.M)[1].strip('"')
        revisions[revision] = None if down == "None" else down
    children = {down for down in revisions.values() if down}
    (newest,) = set(revisions) - children
    assert newest == HEAD


def test_replicas_starting_together_migrate_once():
    with fresh_postgres_database() as url:
        errors: list[BaseException] = []

        def start() -> None:
            try:
                open_store(url).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors


@pytest.mark.parametrize(("url", "says"), [
    ("not a url", "is not a database URL"),
    ("postgresql://bot:hunter2@db:notaport/mlops", "bad host or port"),
    ("postgresql://bot:hunter2@[::1/mlops", "IPv6 host goes in brackets"),
    ("postgresql://bot:hunter2@db:99999/mlops", "is not between 1 and 65535"),
    ("mysql://bot:hunter2@db/mlops", "supports sqlite:/// and postgresql://"),
])
def test_a_wrong_database_url_is_one_line_naming_it_with_the_password_masked(url, says):
    with pytest.raises(ConfigError) as info:
        database_url(url)
    message = str(info.value)
    assert says in message and "DATABASE_URL" in message
    assert "hunter2" not in message and "\n" not in message


def test_postgres_scheme_is_taken_as_postgresql():
    assert database_url("postgres://bot:pw@db:5432/mlops").drivername == "postgresql+psycopg"


def test_an_unreachable_database_says_why_without_the_password():
    with pytest.raises(StorageError) as info:
        open_store("postgresql://nobody:hunter2@127.0.0.1:1/none")
    message = str(info.value)
    assert "hunter2" not in message and "\n" not in message
    assert "OperationalError" in message and "127.0.0.1" in message


def test_the_migrations_build_exactly_the_tables_the_code_declares(empty_database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.schema import metadata

    store = open_store(empty_database)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        # Index names and server defaults are spelled per backend; tables and columns must agree.
        assert [d for d in diff if d[0] in ("add_table", "remove_table", "add_column", "remove_column")] == []
    finally:
        store.close()


def test_the_quick_reader_knows_the_head_revision_and_the_marks_key():
    from bot.app.catalog_care import MARKS_KEY
    from bot.storage import quick_read

    assert quick_read.HEAD == HEAD
    assert quick_read.MARKS_KEY == MARKS_KEY
