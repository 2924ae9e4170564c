"""Expiry of stored conversations: Rasa's events table in PostgreSQL (trolydvc.rasa_stores).

A conversation silent for longer than the retention period (TROLYDVC_CONVERSATION_RETENTION_DAYS,
default 30) is deleted whole; see trolydvc.rasa_stores for why never a part of one.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine, inspect, text

from trolydvc import config
from trolydvc.rasa_stores import purge_statement


def purge_conversations(older_than_days: float, database_url: str | None = None) -> int:
    """Delete the conversations whose latest event is older than ``older_than_days``; return
    how many conversations were deleted. Nothing to do when Rasa never created its table."""
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    url = database_url or config.database_url()
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        cutoff = time.time() - older_than_days * 86400
        with engine.begin() as connection:
            deleted = connection.execute(
                text(purge_statement() + " RETURNING sender_id"), {"cutoff": cutoff}
            ).scalars()
            return len(set(deleted))
    finally:
        engine.dispose()
