"""Tables of the officials' web dashboard: local accounts and the audit log of official actions.

Roles are the bot's official roles (``OFFICIAL_ROLES``). Passwords are stored only as argon2id
hashes (``argon2.PasswordHasher``). The audit log never holds message texts of citizens, phone
numbers or names: an action, the account's username, the client address and a short detail
(a period, a broadcast or case number).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
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
)


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
