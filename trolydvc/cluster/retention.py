"""Expiry of stored conversations: Rasa's events table in PostgreSQL (trolydvc.rasa_stores) and the
conversation log (trolydvc.conversation_log), under one retention period
(TROLYDVC_CONVERSATION_RETENTION_DAYS, default 30).

A conversation silent for longer than the retention period is deleted whole; see
trolydvc.rasa_stores for why never a part of one. A log row (one message) is deleted once it is
older than the period; Rasa's event broker also does that hourly in every topology.
"""

from __future__ import annotations

import time

from sqlalchemy import bindparam, create_engine, inspect, text

from trolydvc import config
from trolydvc.conversation_log import PURGE_SQL, TABLE, cutoff
from trolydvc.db.base import UTCDateTime
from trolydvc.rasa_stores import purge_statement


def _check(older_than_days: float) -> None:
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")


def purge_conversations(older_than_days: float, database_url: str | None = None) -> int:
    """Delete the conversations whose latest event is older than ``older_than_days``; return
    how many conversations were deleted. Nothing to do when Rasa never created its table."""
    _check(older_than_days)
    url = database_url or config.database_url()
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        limit = time.time() - older_than_days * 86400
        with engine.begin() as connection:
            deleted = connection.execute(
                text(purge_statement() + " RETURNING sender_id"), {"cutoff": limit}
            ).scalars()
            return len(set(deleted))
    finally:
        engine.dispose()


def purge_conversation_log(older_than_days: float, database_url: str | None = None) -> int:
    """Delete the conversation log's rows older than ``older_than_days``; return how many."""
    _check(older_than_days)
    url = database_url or config.database_url()
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table(TABLE):
            return 0
        statement = text(PURGE_SQL).bindparams(bindparam("cutoff", type_=UTCDateTime()))
        with engine.begin() as connection:
            return connection.execute(statement, {"cutoff": cutoff(older_than_days)}).rowcount
    finally:
        engine.dispose()
