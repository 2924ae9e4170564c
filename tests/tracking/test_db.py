from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import trolydvc.db.bot_models  # noqa: F401
from trolydvc.db.base import Base, DatabaseNotReady, get_engine, reset_engines, session_scope
from trolydvc.db.migrate import alembic_config, current_revision, head_revision, upgrade
from trolydvc.db.models import Dossier
from trolydvc.db.scratch import scratch_postgres


def test_single_migration_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1 and heads[0] == head_revision()


def test_models_match_migrations(db_url: str) -> None:
    """Every model change comes with a migration (autogenerate finds nothing to do)."""
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_is_upgraded_on_first_use_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = get_engine(url)
    try:
        assert current_revision(url) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {
            "dossiers",
            "dossier_status_history",
            "subscribers",
            "officials",
            "broadcasts",
            "deliveries",
            "feedback",
            "handoff_cases",
        } <= tables
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        command.downgrade(alembic_config(url), "base")
        assert current_revision(url) is None
        assert upgrade(url) == (None, head_revision())
    finally:
        reset_engines()


def test_history_is_deleted_with_its_dossier(db_url: str, tmp_path: Path) -> None:
    from trolydvc.tracking.importer import import_file

    path = tmp_path / "a.csv"
    path.write_text(
        "code,received_at,status\n000.00.20.H50-221107-0001,2022-11-07,Đang xử lý\n",
        encoding="utf-8",
    )
    import_file(path, url=db_url)
    with session_scope(db_url) as s:
        s.delete(s.query(Dossier).one())
    with session_scope(db_url) as s:
        assert s.execute(text("SELECT count(*) FROM dossier_status_history")).scalar() == 0


@pytest.mark.postgres
def test_postgres_not_upgraded_gives_a_clear_error(postgres_url: str) -> None:
    with (
        scratch_postgres("trolydvc_test", migrate=False) as url,
        pytest.raises(DatabaseNotReady, match="trolydvc db upgrade"),
    ):
        get_engine(url)
