"""Tables of dossier following (issue #16): offers, follows, notifications and the feed cursor.

A status lookup verified with the phone's last four digits leaves a ``follow_offers`` row (the
Rasa conversation and the dossier): only that conversation may then follow the dossier. A
``dossier_follows`` row records the chat, the dossier and the moment of consent. The notifier
(``trolydvc.tracking.follow``) reads ``dossier_status_history`` past ``follow_cursors`` and writes
one ``follow_notifications`` row per (follow, event); the event key is unique per follow, so an
event can never be queued twice. Its text is sent through the bot's delivery rows (a Telegram
follower) or written into the widget's inbox (``widget_messages``, a web widget follower).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trolydvc.db.base import Base, BigIntPK, UTCDateTime, utcnow
from trolydvc.db.web_models import WidgetMessage


class FollowOffer(Base):
    """A conversation (Rasa sender id) that verified a dossier: it may follow it."""

    __tablename__ = "follow_offers"

    sender_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(
        ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True
    )
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DossierFollow(Base):
    """A follower of a dossier: a Telegram chat (``chat_id``) or a web widget session
    (``web_sender``), one of the two. Active while ``stopped_at`` is None and ``ends_at`` (set
    when the result is returned) has not passed."""

    __tablename__ = "dossier_follows"
    __table_args__ = (
        UniqueConstraint("chat_id", "dossier_id", name="uq_dossier_follows_chat_dossier"),
        UniqueConstraint("web_sender", "dossier_id", name="uq_dossier_follows_web_sender_dossier"),
        CheckConstraint("(chat_id IS NULL) <> (web_sender IS NULL)", name="one_follower"),
        Index("ix_dossier_follows_dossier", "dossier_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    web_sender: Mapped[str | None] = mapped_column(String(128))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The dossier's latest history row when the chat consented (the status it had seen): only
    # later rows are told. (Import times are whole seconds: comparing times would miss some.)
    after_history_id: Mapped[int] = mapped_column(BigInteger, default=0)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowNotification(Base):
    """One event of a followed dossier told to one follower (``event_key``: ``h:<history id>``
    for a status change, ``due:<due date>`` for a due date passed without a result)."""

    __tablename__ = "follow_notifications"
    __table_args__ = (
        UniqueConstraint("follow_id", "event_key", name="uq_follow_notifications_event"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    follow_id: Mapped[int] = mapped_column(ForeignKey("dossier_follows.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    # A widget follower's message (its inbox row), written in the notifier's transaction.
    widget_message_id: Mapped[int | None] = mapped_column(
        ForeignKey(WidgetMessage.id, ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowCursor(Base):
    """How far the notifier has read the status history (one row, name ``history``)."""

    __tablename__ = "follow_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
