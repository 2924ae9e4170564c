"""Fixtures of the tracking tests: a scratch SQLite file and a scratch PostgreSQL database.

The PostgreSQL database (127.0.0.1:5432, trust auth; override the server with
TROLYDVC_TEST_PG_ADMIN_URL) gets a unique name per test run and is dropped at the end; the
PostgreSQL variants are skipped when the server is not reachable (they fail under CI=true).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from trolydvc.db.base import get_engine
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres


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
    try:
        with scratch_postgres("trolydvc_test") as url:
            yield url
    except PostgresUnavailable as exc:  # server not there: the PostgreSQL variants are skipped
        if os.environ.get("CI") == "true":  # ... except in CI, where it must be there
            pytest.fail(f"PostgreSQL not reachable at {exc}")
        pytest.skip(f"PostgreSQL not reachable at {exc}")


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
