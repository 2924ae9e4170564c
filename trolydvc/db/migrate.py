"""Alembic helpers: upgrade to the newest revision, report the current one.

- ``upgrade(url=None)``: ``alembic upgrade head`` on ``url`` (default ``database_url()``).
- ``current_revision(url=None) -> str | None`` and ``head_revision() -> str``.
- ``ensure_schema(engine)``: called once per engine by ``get_engine``; upgrades the embedded SQLite
  database automatically (under a file lock, so concurrent first uses are safe) and raises
  ``DatabaseNotReady`` for any other database that is not at the head revision.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

# Alembic's INFO chatter ("setup plugin ...", "Context impl ...") is noise in the CLI and the
# services; `trolydvc db upgrade` reports what it did itself. Set before alembic is imported.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from trolydvc.config import ROOT  # noqa: E402
from trolydvc.db.base import DatabaseNotReady, create_db_engine  # noqa: E402

ALEMBIC_INI = ROOT / "alembic.ini"

MIGRATIONS_DIR = ROOT / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["configure_logging"] = False
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseNotReady(f"the migration chain must have exactly one head, found {heads}")
    return heads[0]


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def current_revision(url: str | None = None) -> str | None:
    engine = create_db_engine(url or _default_url())
    try:
        return _current(engine)
    finally:
        engine.dispose()


def _default_url() -> str:
    from trolydvc.config import database_url

    return database_url()


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _upgrade_engine(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def upgrade(url: str | None = None) -> tuple[str | None, str]:
    """Upgrade the database at ``url`` to the head revision; returns (before, after)."""
    engine = create_db_engine(url or _default_url())
    try:
        with _file_lock(engine) if engine.dialect.name == "sqlite" else contextlib.nullcontext():
            before = _current(engine)
            _upgrade_engine(engine)
            return before, head_revision()
    finally:
        engine.dispose()


def ensure_schema(engine: Engine) -> None:
    head = head_revision()
    current = _current(engine)
    if current == head:
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseNotReady(
            f"Cơ sở dữ liệu đang ở phiên bản {current}, mới hơn mã nguồn này (phiên bản {head}). "
            "Hãy cập nhật mã nguồn."
        )
    if engine.dialect.name == "sqlite":
        with _file_lock(engine):
            if _current(engine) != head:
                _upgrade_engine(engine)
        return
    raise DatabaseNotReady(
        f"Cơ sở dữ liệu chưa ở phiên bản mới nhất ({current or 'trống'} → {head}). "
        "Hãy chạy: trolydvc db upgrade"
    )
