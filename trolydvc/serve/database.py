"""Database bootstrap on start: the embedded SQLite database migrated, and seeded with the demo
dossiers when it holds none."""

from __future__ import annotations

import click

from trolydvc.config import settings


def prepare_embedded_database(echo: bool = True) -> None:
    """With the embedded SQLite database (no DATABASE_URL): bring its schema up to date and,
    when it holds no dossier at all, load the seeded demo dossiers so lookups work out of the
    box. A PostgreSQL deployment (DATABASE_URL set) is left to its operator."""
    if settings().database_url:
        return
    # Imported here, not at the top: SQLAlchemy and Alembic double the CPU time of every
    # `trolydvc` invocation, --help included (0.55 s -> 1.2 s measured), and only this needs them.
    from sqlalchemy import func, select

    from trolydvc.db.base import get_session
    from trolydvc.db.migrate import upgrade
    from trolydvc.db.models import Dossier

    upgrade()
    with get_session() as session:
        count = session.scalar(select(func.count()).select_from(Dossier)) or 0
    if count:
        return
    from trolydvc.tracking.demo import SHOWCASE_PHONE_LAST4, load_demo_data

    result = load_demo_data()
    if echo:
        click.echo(
            f"Đã nạp {result.imported} hồ sơ mẫu vào cơ sở dữ liệu nhúng. Mã để thử tra cứu "
            f"(4 số cuối điện thoại: {SHOWCASE_PHONE_LAST4}): " + ", ".join(result.showcase[:3]),
            err=True,
        )


def _prepare_database_or_warn() -> None:
    try:
        prepare_embedded_database()
    except Exception as exc:  # the assistant still answers procedure questions without it
        click.echo(f"Cảnh báo: chưa chuẩn bị được cơ sở dữ liệu hồ sơ ({exc}).", err=True)
