"""Announcements from the dashboard: the rows ``/thongbao`` creates (bot.broadcast_store), sent by
the bot's own sender (its scheduled job starts due broadcasts with the exactly-once delivery
rows), and their progress read back from the deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot import broadcast_store
from bot.officials import MAX_BROADCAST_CHARS
from bot.render import escape
from trolydvc.db import session_scope
from trolydvc.db.base import UTC, utcnow
from trolydvc.db.bot_models import Broadcast
from trolydvc.locality import load_locality
from trolydvc.vietnam_time import VN_TZ

STATUS_LABELS = {
    "draft": "Nháp",
    "scheduled": "Chờ gửi",
    "sending": "Đang gửi",
    "done": "Đã gửi xong",
    "cancelled": "Đã hủy",
}


@dataclass(frozen=True)
class Progress:
    id: int
    text: str
    audience: str
    status: str
    scheduled_at: datetime | None
    total: int
    sent: int
    blocked: int
    failed: int
    unknown: int
    pending: int

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def communes() -> list[str]:
    return load_locality().commune_names


def parse_when(value: str) -> datetime | None:
    """An HTML ``datetime-local`` value in Vietnam time ("2026-12-03T08:00"); empty: now."""
    value = value.strip()
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("Thời điểm gửi không hợp lệ.") from None
    return local.replace(tzinfo=VN_TZ).astimezone(UTC)


def create(text: str, audience: str, when: str) -> int:
    """Queue an announcement (plain text, escaped for Telegram's HTML) for every subscriber or
    one commune of locality.yml, at `when` (Vietnam time) or now. Raises ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("Bạn chưa nhập nội dung thông báo.")
    body = escape(text)
    if len(body) > MAX_BROADCAST_CHARS:
        raise ValueError(f"Thông báo quá dài (tối đa {MAX_BROADCAST_CHARS} ký tự).")
    commune = audience.strip() or None
    if commune is not None and commune not in communes():
        raise ValueError("Xã/phường không có trong danh sách.")
    scheduled = parse_when(when)
    if scheduled is not None and scheduled < utcnow().replace(second=0, microsecond=0):
        raise ValueError("Thời điểm gửi đã qua.")
    # Always "scheduled" (now, or later): the bot's periodic job starts it like a /thongbao
    # scheduled for later, creating the delivery rows once.
    return broadcast_store.create_broadcast(
        body, author_id=None, commune=commune, scheduled_at=scheduled or utcnow()
    )


def recent(limit: int = 20) -> list[Progress]:
    with session_scope() as session:
        rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)).all()
        found = [
            (r.id, r.text, r.audience_commune, r.status, r.scheduled_at, r.total_count)
            for r in rows
        ]
    result = []
    for broadcast_id, text, commune, status, scheduled_at, total in found:
        c = broadcast_store.counts(broadcast_id)
        result.append(
            Progress(
                broadcast_id,
                text,
                commune or "Tất cả người đăng ký",
                status,
                scheduled_at,
                total or sum(c.values()),
                c["sent"],
                c["blocked"],
                c["failed"],
                c["unknown"],
                c["pending"] + c["sending"],
            )
        )
    return result


def audience_sizes() -> dict[str, int]:
    """Subscribers per audience choice ("" = all)."""
    sizes = {"": broadcast_store.audience_size(None)}
    for name in communes():
        sizes[name] = broadcast_store.audience_size(name)
    return sizes
