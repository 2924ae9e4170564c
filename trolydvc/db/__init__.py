"""Database layer: engine/session factory (``trolydvc.db.base``), models and Alembic helpers.

Import models from ``trolydvc.db.models`` (dossiers) and ``trolydvc.db.bot_models`` (bot tables);
sessions from here::

    from trolydvc.db import session_scope

    with session_scope() as session:
        ...
"""

from trolydvc.db.base import (
    Base,
    DatabaseNotReady,
    get_engine,
    get_session,
    reset_engines,
    session_scope,
)

__all__ = [
    "Base",
    "DatabaseNotReady",
    "get_engine",
    "get_session",
    "reset_engines",
    "session_scope",
]
