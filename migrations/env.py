"""Alembic environment: one migration chain for every table of the project."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import trolydvc.db.bot_models  # noqa: F401  (registers the bot tables)
import trolydvc.db.follow_models  # noqa: F401  (registers the following tables)
import trolydvc.db.log_models  # noqa: F401  (registers the conversation log)
import trolydvc.db.models  # noqa: F401  (registers the dossier tables)
import trolydvc.db.web_models  # noqa: F401  (registers the dashboard tables)
from trolydvc.db.base import Base, create_db_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from trolydvc.config import database_url

    return database_url()


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
