"""Tables of the web app: the officials' dashboard (local accounts, the audit log of official
actions) and the chat widget's messages outside Rasa (its inbox and its handoff conversations).

Roles are the bot's official roles (``OFFICIAL_ROLES``). Passwords are stored only as argon2id
hashes (``argon2.PasswordHasher``). The audit log never holds message texts of citizens, phone
numbers or names: an action, the account's username, the client address and a short detail
(a period, a broadcast or case number).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trolydvc.db.base import Base, BigIntPK, UTCDateTime, utcnow
from trolydvc.db.bot_models import OFFICIAL_ROLES

AUDIT_ACTIONS = (
    "login",
    "login_failed",
    "login_refused",
    "logout",
    "stats_view",
    "export",
    "broadcast",
    "broadcast_cancel",
    "handoff_answer",
    "handoff_close",
)
# Who wrote a widget message: the citizen (to an open handoff case), an official (the desk's
# answer) or the assistant itself (a case closed, a followed dossier's news).
WIDGET_AUTHORS = ("citizen", "official", "assistant")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class WebAccount(Base):
    """A local account of the dashboard (``disabled_at`` set: may no longer log in)."""

    __tablename__ = "web_accounts"
    __table_args__ = (CheckConstraint(_in("role", OFFICIAL_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="official")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuditEntry(Base):
    """One official action in the dashboard (or a login attempt)."""

    __tablename__ = "web_audit_log"
    __table_args__ = (
        CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
        Index("ix_web_audit_log_username_action_at", "username", "action", "at"),
        Index("ix_web_audit_log_client_action_at", "client", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("web_accounts.id", ondelete="SET NULL")
    )
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    client: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class WidgetMessage(Base):
    """A message of one widget session (``web_sender``: the web app's Rasa sender id, kept in
    the browser's signed session cookie) that does not go through Rasa: what the citizen wrote
    to an open handoff case (``case_id``), an official's answer, a notice of the assistant (a
    case closed, a followed dossier's news). The widget fetches the ones not written by the
    citizen (``POST /api/inbox``); ``delivered_at`` is set when a widget acknowledges one, so a
    message is shown once even in a new tab of the same browser session."""

    __tablename__ = "widget_messages"
    __table_args__ = (
        CheckConstraint(_in("author", WIDGET_AUTHORS), name="author"),
        Index("ix_widget_messages_web_sender_id", "web_sender", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    web_sender: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # The widget's buttons under the message: [{"title": ..., "payload": ...}]
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoff_cases.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
