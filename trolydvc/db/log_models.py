"""The conversation log (``conversation_log``): one row per user message, written by Rasa's event
broker (trolydvc.conversation_log, which says what each column holds and why) and read by the
dashboard's analytics. No sender id, no text of an understood message; rows older than the
conversation retention period are deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Double, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trolydvc.conversation_log import CHANNELS, OUTCOMES, SENDER_HASH_CHARS, TABLE
from trolydvc.db.base import Base, BigIntPK, UTCDateTime


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ConversationLogEntry(Base):
    """One user message: when, channel, keyed sender hash, intent, outcome, procedure; the
    redacted text only when the assistant did not understand it."""

    __tablename__ = TABLE
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        # conversations: a sender's messages in order (analytics' window over sender_hash)
        Index("ix_conversation_log_sender_at", "sender_hash", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_hash: Mapped[str] = mapped_column(String(SENDER_HASH_CHARS))
    conversation_start: Mapped[bool] = mapped_column(Boolean, default=False)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str] = mapped_column(String(16))
    procedure: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(String(16))
    human: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)
    guess: Mapped[str | None] = mapped_column(String(64))
