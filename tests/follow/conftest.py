"""Fixtures of the following tests: scratch SQLite and PostgreSQL databases, dossiers imported
through the importer's public API (a CSV export), a verified offer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import text

from trolydvc.db.base import get_engine
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
from trolydvc.tracking.importer import import_file

HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)
CODE = "000.00.20.H50-261107-0001"
OTHER = "000.00.20.H50-261107-0002"
TABLES = (
    "follow_notifications",
    "widget_messages",
    "dossier_follows",
    "follow_offers",
    "follow_cursors",
    "deliveries",
    "broadcasts",
    "subscribers",
    "lookup_counters",
    "dossier_status_history",
    "dossiers",
)


# A due date far enough not to pass during a test, and within the importer's plausible range
# (at most a year ahead).
FAR_DUE = (date.today() + timedelta(days=300)).strftime("%d/%m/%Y")


def row(code: str, status: str, *, due: str = FAR_DUE, resolved: str = "") -> str:
    return (
        f"{code},1.001193,Đăng ký khai sinh,Nguyễn Văn An,0912 345 678,07/11/2026 08:30,{due},"
        f"{resolved},,{status},Trực tiếp,UBND xã A,Hộ tịch\n"
    )


@pytest.fixture(autouse=True)
def _phone_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from trolydvc.tracking import privacy

    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    monkeypatch.delenv("REDIS_URL", raising=False)
    privacy._key.cache_clear()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'follow.db'}"


@pytest.fixture(scope="session")
def postgres_url(require_service: Callable[[str], NoReturn]) -> Iterator[str]:
    try:
        with scratch_postgres("trolydvc_follow_test") as url:
            yield url
    except PostgresUnavailable as exc:  # skipped, or failed in CI (tests/conftest.py)
        require_service(f"PostgreSQL not reachable at {exc}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty, migrated database (both backends); also exported as DATABASE_URL."""
    url = request.getfixturevalue(f"{request.param}_url")
    with get_engine(url).begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def load(tmp_path: Path, db_url: str) -> Callable[..., None]:
    """Import CSV rows (the importer's public API), as an export from the one-stop shop."""
    counter = iter(range(1_000_000))

    def run(*rows: str) -> None:
        path = tmp_path / f"export-{next(counter)}.csv"
        path.write_text(HEADER + "".join(rows), encoding="utf-8")
        result = import_file(path, url=db_url)
        assert result.errors == []

    return run
