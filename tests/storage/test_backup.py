"""`mlops-bot db backup`: a consistent copy of a SQLite database while it is being written."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.operator_cli import db_backup
from bot.storage import open_store


def test_a_backup_taken_while_the_bot_writes_is_consistent_and_complete(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/live.db"
    store = open_store(url)
    for n in range(200):
        store.set_sync(f"k{n}", "v" * 500)
    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            store.set_sync(f"w{n % 50}", str(n))
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        out = io.StringIO()
        assert db_backup(url, tmp_path / "copy.db", out) == 0
    finally:
        stop.set()
        writer.join()
        store.close()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM bot_state WHERE key LIKE 'k%'").fetchone() == (200,)
    assert not (tmp_path / "copy.db.partial").exists()
    assert "backed up" in out.getvalue()


def test_a_backup_of_postgresql_says_to_use_pg_dump(tmp_path: Path):
    with pytest.raises(ConfigError, match="pg_dump"):
        db_backup("postgresql://bot@127.0.0.1/x", tmp_path / "copy.db", io.StringIO())
