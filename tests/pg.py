"""A fresh PostgreSQL database per test, on the server these machines run at 127.0.0.1:5432.

Outside CI a machine without PostgreSQL skips those tests; in CI (CI=true) that is a failure, since
the same storage tests must run on both backends there.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get("MLOPS_BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL storage, but nothing listens on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (CI runs this)")


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    require_postgres()
    from sqlalchemy import create_engine, text

    name = f"mlops_bot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
