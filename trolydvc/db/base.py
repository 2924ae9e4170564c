"""Engine, sessions and the declarative base shared by every table.

Public API (stable, used by the tracking area, the bot and the actions):

- ``Base``: the SQLAlchemy 2 declarative base; all models register on ``Base.metadata``.
- ``get_engine(url=None)``: one cached engine per URL (default ``trolydvc.config.database_url()``).
  SQLite connections get ``journal_mode=WAL``, ``foreign_keys=ON``, ``synchronous=NORMAL``, a
  busy timeout, a 64 MB page cache and memory-mapped reads. On first use the embedded SQLite
  database is upgraded to the newest Alembic revision automatically; any other database
  (PostgreSQL) must be upgraded with
  ``trolydvc db upgrade`` and a clear ``DatabaseNotReady`` error says so otherwise.
- ``get_session(url=None) -> Session``: a new session (caller closes it).
- ``session_scope(url=None)``: ``with session_scope() as s: ...`` commits on success, rolls back on
  error, always closes.
- ``reset_engines()``: dispose the cached engines (tests switch ``DATABASE_URL``).
- ``UTCDateTime``: column type for instants; stores naive UTC, returns aware UTC datetimes.
- ``utcnow()``: aware ``datetime`` in UTC.

Dossier business times (received, due, resolved, returned) are wall-clock times in Vietnam
(Asia/Ho_Chi_Minh), naive, exactly as one-stop-shop systems export them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL; INTEGER (the rowid alias, auto-increment) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


UTC = timezone.utc


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored as naive UTC (portable), returned as an aware UTC datetime.

    Naive values given to it are taken to be UTC already.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DatabaseNotReady(RuntimeError):
    """The database schema is missing or older than this code expects."""


_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Bigger page cache and memory-mapped reads: lookups and bulk imports over ~1M dossiers
        # would otherwise thrash the 2 MB default cache.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
    finally:
        cursor.close()


def create_db_engine(url: str) -> Engine:
    """A new engine (not cached, no migration check); prefer ``get_engine``."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The cached engine for ``url`` (default: ``database_url()``), schema checked or upgraded."""
    if url is None:
        from trolydvc.config import database_url

        url = database_url()
    engine = _engines.get(url)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_db_engine(url)
            from trolydvc.db.migrate import ensure_schema

            try:
                ensure_schema(engine)
            except Exception:
                engine.dispose()
                raise
            _engines[url] = engine
    return engine


def get_session(url: str | None = None) -> Session:
    """A new ORM session bound to ``get_engine(url)``; the caller must close it."""
    engine = get_engine(url)
    key = str(engine.url)
    maker = _sessionmakers.get(key)
    if maker is None:
        maker = sessionmaker(bind=engine, expire_on_commit=False)
        _sessionmakers[key] = maker
    return maker()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """Transactional scope: commit on success, roll back on any exception, always close."""
    session = get_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engines() -> None:
    """Dispose and forget all cached engines (used by tests that switch databases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()
