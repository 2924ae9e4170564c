"""Fixtures of the tracking tests: a scratch SQLite file and a scratch PostgreSQL database.

The PostgreSQL database (127.0.0.1:5432, trust auth; override the server with
TROLYDVC_TEST_PG_ADMIN_URL) gets a unique name per test run and is dropped at the end; the
PostgreSQL variants are skipped when the server is not reachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from trolydvc.db.base import get_engine, reset_engines
from trolydvc.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "TROLYDVC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _phone_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from trolydvc.tracking import privacy

    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    privacy._key.cache_clear()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "tracking.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # server not there: the PostgreSQL variants are skipped
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    name = f"trolydvc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        reset_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty, migrated database (both backends); also exported as DATABASE_URL."""
    url = request.getfixturevalue(f"{request.param}_url")
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM dossier_status_history"))
        conn.execute(text("DELETE FROM dossiers"))
    monkeypatch.setenv("DATABASE_URL", url)
    return url
