"""Opening the database: DATABASE_URL checked and explained, the engine tuned per backend, and the
schema brought to the latest migration (bot/storage/migrations) before anything else touches it.

Alembic is imported only when the schema is behind: a one-shot `mlops-bot ask` on an up-to-date
database reads one row of `alembic_version` instead of paying for Alembic's import.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0004"  # the newest revision in migrations/versions (a test checks they agree)
BASELINE = "0001"  # what a 0.1.0 database, made by create_all, already has
# Any constant: several replicas starting together take this lock, so one of them migrates.
_PG_MIGRATION_LOCK = 0x6D6C6F7073  # "mlops"
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def mask_url(url: str) -> str:
    """A URL fit for a log line: whatever stands before `@` in it (user and password) masked."""
    return _USERINFO.sub("***@", url)


def database_url(raw: str) -> URL:
    """DATABASE_URL as SQLAlchemy's URL, with the driver the bot installs; ConfigError in one line."""
    text_ = raw.strip()
    shown = mask_url(text_)
    try:
        url = make_url(text_)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL={shown!r} is not a database URL; "
                          "expected sqlite:///path/to/file.db or postgresql://user:password@host:5432/name") from None
    except ValueError as exc:
        # SQLAlchemy reads the port with int(): "notaport", or the tail of a broken IPv6 literal
        # (`[::1/db` has no `]`). Its message is about int(), so say what it means.
        raise ConfigError(f"DATABASE_URL={shown!r} has a bad host or port ({exc}); an IPv6 host goes in "
                          "brackets, e.g. postgresql://user@[::1]:5432/name") from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        # postgres:// is what Heroku and many hosts hand out; SQLAlchemy knows only postgresql://.
        if url.drivername in ("postgres", "postgresql", "postgres+psycopg"):
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3, the `postgres` extra
    elif backend != "sqlite":
        raise ConfigError(f"DATABASE_URL={shown!r}: the bot supports sqlite:/// and postgresql:// databases")
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigError(f"DATABASE_URL={shown!r}: port {url.port} is not between 1 and 65535")
    return url


def create_database_engine(raw: str) -> Engine:
    url = database_url(raw)
    shown = mask_url(raw.strip())
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 15})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"DATABASE_URL={shown!r} needs the {exc.name} driver: pip install 'mlops-bot[postgres]'"
                          ) from None
    except OSError as exc:
        raise StorageError(f"cannot create the database folder for DATABASE_URL={shown!r}: {exc.strerror}") from None
    return engine


def migrate(engine: Engine) -> str:
    """Bring the schema to HEAD; returns the revision it was at. Raises StorageError in one line."""
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Held to the end of this transaction: replicas starting together migrate one at a time,
                # and the others then find the schema current.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            current = _current_revision(conn)
            if current == HEAD:
                return current
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO is a line per step; ours says it all
            if current is None and _has_release_tables(conn):
                command.stamp(config, BASELINE)  # a 0.1.0 database: its tables are the baseline's
                current = BASELINE
            command.upgrade(config, "head")
            log.info("database schema upgraded from %s to %s", current or "nothing", HEAD)
            return current or "none"
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the {engine.url.get_backend_name()} database: {_reason(exc)}") from None


def _current_revision(conn: object) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()  # type: ignore[attr-defined]


def _has_release_tables(conn: object) -> bool:
    return inspect(conn).has_table("claims")


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own first line (which names the host, the database or the refusal), masked."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return mask_url(f"{original.__class__.__name__}: {lines[0][:300] if lines else ''}")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
