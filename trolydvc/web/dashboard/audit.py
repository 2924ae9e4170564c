"""The audit log of the dashboard: every official action (and login attempt), and its listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from trolydvc.db import session_scope
from trolydvc.db.web_models import AUDIT_ACTIONS, WebAuditEntry

ACTION_LABELS = {
    "login": "Đăng nhập",
    "login_failed": "Đăng nhập sai",
    "login_refused": "Từ chối đăng nhập (sai quá nhiều lần)",
    "logout": "Đăng xuất",
    "stats_view": "Xem thống kê",
    "export": "Xuất số liệu",
    "broadcast": "Tạo thông báo",
    "broadcast_cancel": "Hủy thông báo",
    "handoff_answer": "Trả lời công dân",
    "handoff_close": "Đóng yêu cầu hỗ trợ",
}
assert set(ACTION_LABELS) == set(AUDIT_ACTIONS)


class HasIdentity(Protocol):
    id: int
    username: str


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    username: str
    action: str
    client: str
    detail: str

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


def record(
    action: str,
    *,
    account: HasIdentity | None = None,
    username: str = "",
    client: str = "",
    detail: str = "",
) -> None:
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown audit action {action!r}")
    with session_scope() as session:
        session.add(
            WebAuditEntry(
                account_id=account.id if account else None,
                username=account.username if account else username,
                action=action,
                client=client[:64],
                detail=detail,
            )
        )


def recent(limit: int = 200) -> list[AuditRow]:
    with session_scope() as session:
        rows = session.scalars(
            select(WebAuditEntry).order_by(WebAuditEntry.id.desc()).limit(limit)
        ).all()
        return [AuditRow(r.at, r.username, r.action, r.client, r.detail) for r in rows]
