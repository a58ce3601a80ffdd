"""A small SQLAlchemy Core store: idempotency claims and key/value state.

Calls are short and synchronous in the driver; the async methods run them in a worker thread so that
the event loop (Slack and Discord share it) never blocks on disk or network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, delete, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import StorageError

metadata = MetaData()

kv = Table(
    "bot_state", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
claims = Table(
    "claims", metadata,
    Column("key", String(300), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- claims: "has anyone done X already?" across retries, restarts and replicas ------------------

    def claim_sync(self, key: str) -> bool:
        """True for the first caller with `key`, False for every later one."""
        try:
            with self.engine.begin() as conn:
                conn.execute(claims.insert().values(key=key[:300], created_at=_now()))
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StorageError(f"claim failed: {exc.__class__.__name__}") from exc

    async def claim(self, key: str) -> bool:
        return await asyncio.to_thread(self.claim_sync, key)

    def release_sync(self, key: str) -> None:
        """Give a claim back when the claimed work failed, so that a later attempt may do it."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(claims).where(claims.c.key == key[:300]))
        except SQLAlchemyError as exc:
            raise StorageError(f"release failed: {exc.__class__.__name__}") from exc

    async def release(self, key: str) -> None:
        await asyncio.to_thread(self.release_sync, key)

    def forget_claims_sync(self, older_than: dt.timedelta) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(claims).where(claims.c.created_at < _now() - older_than))
            return result.rowcount or 0

    # -- key/value ------------------------------------------------------------------------------------

    def get_sync(self, key: str) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(kv.c.value).where(kv.c.key == key)).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"read failed: {exc.__class__.__name__}") from exc

    def set_sync(self, key: str, value: str) -> None:
        try:
            with self.engine.begin() as conn:
                updated = conn.execute(kv.update().where(kv.c.key == key).values(value=value, updated_at=_now()))
                if not updated.rowcount:
                    conn.execute(kv.insert().values(key=key, value=value, updated_at=_now()))
        except SQLAlchemyError as exc:
            raise StorageError(f"write failed: {exc.__class__.__name__}") from exc

    async def get(self, key: str) -> str | None:
        return await asyncio.to_thread(self.get_sync, key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.to_thread(self.set_sync, key, value)

    def close(self) -> None:
        self.engine.dispose()


def open_store(database_url: str) -> Store:
    """Connect, create the tables if needed, and return a ready Store (raises StorageError)."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver the `postgres` extra installs
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 15})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(engine)
    except (SQLAlchemyError, OSError, ModuleNotFoundError) as exc:
        # The URL may hold a password: name only the backend.
        raise StorageError(f"cannot open the {url.get_backend_name()} database: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0][:200] if url.password is None else 'see DATABASE_URL'}") from exc
    return Store(engine)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
