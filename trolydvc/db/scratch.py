"""Scratch PostgreSQL databases for the tests and benchmarks: created, migrated, dropped.

    with scratch_postgres("trolydvc_test") as url:
        ...  # a migrated, empty database named trolydvc_test_<random>

The server is reached through an admin URL (default: 127.0.0.1:5432, user postgres, trust auth;
override with TROLYDVC_TEST_PG_ADMIN_URL).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from trolydvc.config import settings
from trolydvc.db.base import reset_engines
from trolydvc.db.migrate import upgrade

PG_ADMIN_URL = settings().test_pg_admin_url


class PostgresUnavailable(Exception):
    """The PostgreSQL server did not answer at the admin URL."""


@contextlib.contextmanager
def scratch_postgres(
    prefix: str, *, migrate: bool = True, admin_url: str = PG_ADMIN_URL
) -> Iterator[str]:
    """Yield the URL of a new database `<prefix>_<random>` (migrated unless told not to); drop it
    afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise PostgresUnavailable(f"{admin_url}: {type(exc).__name__}") from exc
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        try:
            if migrate:
                upgrade(url)
            yield url
        finally:
            reset_engines()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
