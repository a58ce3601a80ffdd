"""The store: key/value state and claims, on SQLAlchemy Core.

Calls are short and synchronous in the driver; the async methods run them in a worker thread so that
the event loop (Slack and Discord share it) never blocks on disk or network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import StorageError
from bot.storage.database import create_database_engine, migrate
from bot.storage.schema import CLAIMED, DONE, claims, kv

Clock = Callable[[], dt.datetime]

# Long enough for any post a claim guards (a platform call, with its retries), short enough that a
# member who clicks again after a crash is not kept waiting long.
DEFAULT_LEASE = dt.timedelta(seconds=60)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Store:
    def __init__(self, engine: Engine, *, clock: Clock = _now) -> None:
        self.engine = engine
        self.clock = clock

    # -- claims: "is anyone doing, or has anyone done, X?" across retries, restarts and replicas --------

    def claim_sync(self, key: str, lease: dt.timedelta = DEFAULT_LEASE) -> bool:
        """True when the caller may do the work of `key` now: nobody has, and nobody holds a live lease.

        The caller marks it `complete` once the work was accepted, or `release`s it when the work
        failed. A lease that expires without either is free again: its holder died mid-way.
        """
        key = key[:300]
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                try:
                    with conn.begin_nested():
                        conn.execute(claims.insert().values(key=key, created_at=now, state=CLAIMED,
                                                            lease_until=now + lease))
                    return True
                except IntegrityError:
                    pass
                # One conditional update: of two replicas racing for an expired lease, one matches.
                taken = conn.execute(
                    update(claims)
                    .where(claims.c.key == key, claims.c.state == CLAIMED,
                           or_(claims.c.lease_until.is_(None), claims.c.lease_until < now))
                    .values(lease_until=now + lease))
                return taken.rowcount == 1
        except SQLAlchemyError as exc:
            raise StorageError(f"claim failed: {exc.__class__.__name__}") from exc

    async def claim(self, key: str, lease: dt.timedelta = DEFAULT_LEASE) -> bool:
        return await asyncio.to_thread(self.claim_sync, key, lease)

    def complete_sync(self, key: str) -> None:
        """The claimed work was accepted: nobody does it again."""
        self._write(update(claims).where(claims.c.key == key[:300]).values(state=DONE, lease_until=None),
                    "complete")

    async def complete(self, key: str) -> None:
        await asyncio.to_thread(self.complete_sync, key)

    def release_sync(self, key: str) -> None:
        """The claimed work failed and nothing was done: a later attempt may do it."""
        self._write(delete(claims).where(claims.c.key == key[:300], claims.c.state == CLAIMED), "release")

    async def release(self, key: str) -> None:
        await asyncio.to_thread(self.release_sync, key)

    def claim_state_sync(self, key: str) -> str | None:
        """"claimed", "done", or None when nobody claimed `key`."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(claims.c.state).where(claims.c.key == key[:300])).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"read failed: {exc.__class__.__name__}") from exc

    def forget_claims_sync(self, older_than: dt.timedelta) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(claims).where(claims.c.created_at < self.clock() - older_than))
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
                updated = conn.execute(kv.update().where(kv.c.key == key).values(value=value, updated_at=self.clock()))
                if not updated.rowcount:
                    conn.execute(kv.insert().values(key=key, value=value, updated_at=self.clock()))
        except SQLAlchemyError as exc:
            raise StorageError(f"write failed: {exc.__class__.__name__}") from exc

    async def get(self, key: str) -> str | None:
        return await asyncio.to_thread(self.get_sync, key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.to_thread(self.set_sync, key, value)

    def _write(self, statement: object, what: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)  # type: ignore[call-overload]
        except SQLAlchemyError as exc:
            raise StorageError(f"{what} failed: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        self.engine.dispose()


def open_store(database_url: str, *, clock: Clock = _now) -> Store:
    """Connect, bring the schema up to date, and return a ready Store.

    Raises ConfigError for a DATABASE_URL that is wrong as written, StorageError when the database
    cannot be reached or upgraded; both in one line, with any password masked.
    """
    engine = create_database_engine(database_url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, clock=clock)
