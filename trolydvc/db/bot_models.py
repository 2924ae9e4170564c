"""Tables of the Telegram bot: subscribers, officials, broadcasts, deliveries, feedback, handoff.

Owned by the bot area after the initial migration; change them only with a new Alembic revision
on top of the single head (``migrations/versions``). All instants are ``UTCDateTime`` (aware UTC).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trolydvc.db.base import Base, BigIntPK, UTCDateTime, utcnow

LANGUAGES = ("vi", "en")
OFFICIAL_ROLES = ("admin", "official")
BROADCAST_STATUSES = ("draft", "scheduled", "sending", "done", "cancelled")
# pending: to send (again at next_attempt_at); sending: handed to Telegram, outcome not yet
# recorded; unknown: was "sending" when the sender died abruptly (Telegram cannot be asked whether
# it arrived, so it is reported, never resent); sent / blocked / failed are final.
DELIVERY_STATUSES = ("pending", "sending", "sent", "blocked", "failed", "unknown")
HANDOFF_STATUSES = ("open", "closed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Subscriber(Base):
    """A Telegram chat that receives announcements (commune None = every commune)."""

    __tablename__ = "subscribers"
    __table_args__ = (CheckConstraint(_in("language", LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    commune: Mapped[str | None] = mapped_column(String(255), index=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Official(Base):
    """A Telegram user allowed to use the officials' commands. ``label`` is a display label
    (e.g. "Cán bộ một cửa 1"), not necessarily a real name."""

    __tablename__ = "officials"
    __table_args__ = (CheckConstraint(_in("role", OFFICIAL_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[str] = mapped_column(String(16), default="official")
    label: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Broadcast(Base):
    """An announcement to subscribers of one commune (``audience_commune``) or all (None)."""

    __tablename__ = "broadcasts"
    __table_args__ = (CheckConstraint(_in("status", BROADCAST_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("officials.id", ondelete="SET NULL"), index=True
    )
    audience_commune: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    blocked_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    # Where the sender reports progress (the official's chat and the message it edits).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(2), default="vi")  # of the progress reports

    author: Mapped[Official | None] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="broadcast", cascade="all, delete-orphan", passive_deletes=True
    )


class Delivery(Base):
    """One broadcast to one chat; unique per (broadcast, chat) so a resend never duplicates."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "chat_id", name="uq_deliveries_broadcast_chat"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    broadcast: Mapped[Broadcast] = relationship(back_populates="deliveries")


class Feedback(Base):
    """A rating (1-5) with an optional comment; ``sender_id`` is a pseudonymous id, never a name."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(64))  # e.g. a procedure code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class HandoffCase(Base):
    """A conversation handed over to a human official: a Telegram chat (``chat_id``: the
    officials' group and the dashboard answer it) or a web widget session (``web_sender``, the
    web app's Rasa sender id: the dashboard answers it into the widget's inbox). One of the two."""

    __tablename__ = "handoff_cases"
    __table_args__ = (
        CheckConstraint(_in("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint("(chat_id IS NULL) <> (web_sender IS NULL)", name="one_channel"),
        Index("ix_handoff_cases_chat_status", "chat_id", "status"),
        # At most one open case per widget session, even under concurrent requests.
        Index(
            "uq_handoff_cases_open_web_sender",
            "web_sender",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    web_sender: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("officials.id", ondelete="SET NULL")
    )
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(2), default="vi")  # the citizen's

    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True
    )


class HandoffMessage(Base):
    """A message posted in the officials' group for a case (replies to it reach the user)."""

    __tablename__ = "handoff_messages"
    __table_args__ = (
        UniqueConstraint("group_chat_id", "message_id", name="uq_handoff_messages_group_message"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_cases.id", ondelete="CASCADE"), index=True
    )
    group_chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[HandoffCase] = relationship(back_populates="messages")


class BotSetting(Base):
    """Runtime settings changed from Telegram (e.g. ``officials_chat_id``)."""

    __tablename__ = "bot_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
