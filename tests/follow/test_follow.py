"""Following a dossier: consent, limits, the notifier over the status history (both backends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.follow.conftest import CODE, OTHER, row
from trolydvc.cli import main
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Delivery, Subscriber
from trolydvc.db.follow_models import FollowCursor, FollowNotification, FollowOffer
from trolydvc.db.models import DossierStatusHistory
from trolydvc.tracking import follow
from trolydvc.tracking.lookup import lookup
from trolydvc.tracking.lookup_guard import RateLimiter

CHAT = 9001
SENDER = f"tg:{CHAT}"


def verify(code: str = CODE, sender: str = SENDER) -> None:
    """The real lookup with the right digits, then the offer the action records."""
    result = lookup(code, sender_id=sender, phone_last4="5678", limiter=RateLimiter())
    assert result.kind == "verified"
    assert follow.record_offer(sender, code)


def queued() -> list[tuple[int, str, str]]:
    with session_scope() as s:
        rows = s.execute(
            select(Delivery.chat_id, FollowNotification.event_key, FollowNotification.status)
            .join(Delivery, Delivery.id == FollowNotification.delivery_id)
            .order_by(FollowNotification.id)
        ).all()
    return [tuple(r) for r in rows]


def test_only_a_verified_conversation_may_follow(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    assert follow.follow(CHAT, SENDER, CODE).kind == "not_verified"
    wrong = lookup(CODE, sender_id=SENDER, phone_last4="0000", limiter=RateLimiter())
    assert wrong.kind == "wrong_phone"  # the action records no offer then
    assert follow.follow(CHAT, SENDER, CODE).kind == "not_verified"
    verify()
    assert follow.follow(777, "tg:777", CODE).kind == "not_verified"  # another conversation
    result = follow.follow(CHAT, SENDER, CODE, "vi")
    assert (result.kind, result.count) == ("followed", 1)
    assert follow.follow(CHAT, SENDER, CODE).kind == "already"
    assert [f.code for f in follow.followed(CHAT)] == [CODE]
    assert follow.follow(CHAT, SENDER, "000.00.20.H50-261107-9999").kind == "unknown"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(FollowOffer)) == 1
    follow.notify(now=utcnow() + follow.OFFER_TTL + timedelta(seconds=1))  # expired offers go
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(FollowOffer)) == 0


def test_a_chat_follows_at_most_the_limit(
    db_url: str, load: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROLYDVC_FOLLOW_MAX_PER_CHAT", "1")
    load(row(CODE, "Đang xử lý"), row(OTHER, "Đang xử lý"))
    verify(CODE)
    verify(OTHER)
    assert follow.follow(CHAT, SENDER, CODE).kind == "followed"
    limited = follow.follow(CHAT, SENDER, OTHER)
    assert (limited.kind, limited.count) == ("limit", 1)
    assert follow.unfollow(CHAT, CODE) == 1
    assert follow.followed(CHAT) == []
    assert follow.follow(CHAT, SENDER, OTHER).kind == "followed"


def test_a_status_change_queues_one_message_exactly_once(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"), row(OTHER, "Đang xử lý"))
    verify()
    follow.follow(CHAT, SENDER, CODE, "vi")
    assert follow.notify().notifications == 0  # history before the consent tells nothing
    load(row(CODE, "Đã có kết quả", resolved="08/11/2026 10:00"), row(OTHER, "Từ chối"))
    report = follow.notify()
    assert (report.notifications, report.messages) == (1, 1)
    [(chat, key, status)] = queued()
    assert (chat, status) == (CHAT, "resolved") and key.startswith("h:")
    texts = follow.delivery_texts([d for d in _delivery_ids()])
    [message] = texts.values()
    assert CODE in message and "Đã có kết quả" in message
    assert "giấy tiếp nhận" in message and "/botheodoi" in message
    assert "Nguyễn" not in message and "5678" not in message  # no personal data
    # Again, and after re-importing the same export: nothing new.
    assert follow.notify().notifications == 0
    load(row(CODE, "Đã có kết quả", resolved="08/11/2026 10:00"))
    assert follow.notify().notifications == 0
    assert len(queued()) == 1


def _delivery_ids() -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(Delivery.id)))


def test_the_message_is_in_the_followers_language(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    verify()
    follow.follow(CHAT, SENDER, CODE, "vi")
    with session_scope() as s:  # the chat switched the bot to English since (/ngonngu)
        s.add(Subscriber(chat_id=CHAT, language="en", subscribed=False))
    load(row(CODE, "Chờ bổ sung"))
    follow.notify()
    [message] = follow.delivery_texts(_delivery_ids()).values()
    assert "additional papers" in message, message
    assert "(Stop following: /botheodoi)" in message  # the footer too


def test_a_notifier_crash_between_queue_and_cursor_queues_nothing(
    db_url: str, load: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(row(CODE, "Đang xử lý"))
    verify()
    follow.follow(CHAT, SENDER, CODE)
    load(row(CODE, "Đã có kết quả", resolved="08/11/2026 10:00"))

    def crash(*args: Any) -> None:
        raise RuntimeError("killed between queue and cursor")

    monkeypatch.setattr(follow, "_advance_cursor", crash)
    with pytest.raises(RuntimeError):
        follow.notify()
    assert queued() == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0
        assert s.get(FollowCursor, follow.CURSOR).last_id == 0
    monkeypatch.undo()
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert follow.notify().notifications == 1
    assert len(queued()) == 1
    with session_scope() as s:
        top = s.scalar(select(func.max(DossierStatusHistory.id)))
        assert s.get(FollowCursor, follow.CURSOR).last_id == top


def test_a_due_date_passing_without_result_is_told_once(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý", due="20/11/2026"))
    verify()
    follow.follow(CHAT, SENDER, CODE)
    report = follow.notify()
    assert (report.overdue, report.notifications) == (1, 1)
    assert follow.notify().notifications == 0
    [message] = follow.delivery_texts(_delivery_ids()).values()
    assert "quá hạn" in message and "20/11/2026" in message


def test_following_ends_a_set_time_after_the_result_is_returned(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    verify()
    follow.follow(CHAT, SENDER, CODE)
    load(row(CODE, "Đã trả kết quả", resolved="08/11/2026 10:00"))
    assert follow.notify().notifications == 1
    assert [f.code for f in follow.followed(CHAT)] == [CODE]
    [item] = follow.followed(CHAT)
    assert item.ends_at is not None
    assert timedelta(days=29) < item.ends_at - utcnow() <= timedelta(days=30)
    later = utcnow() + timedelta(days=31)
    load(row(CODE, "Đang xử lý"))  # (a correction after the end: not told)
    assert follow.notify(now=later).notifications == 0


def test_stats_and_cli(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    verify()
    follow.follow(CHAT, SENDER, CODE)
    load(row(CODE, "Từ chối"))
    runner = CliRunner()
    out = runner.invoke(main, ["follow", "notify"])
    assert out.exit_code == 0, out.output
    assert "xếp hàng 1 thông báo" in out.output
    stats = follow.stats()
    assert (stats.followed_dossiers, stats.following_chats, stats.notifications) == (1, 1, 1)
    assert stats.messages["pending"] == 1
    out = runner.invoke(main, ["follow", "stats"])
    assert "Đang theo dõi: 1 hồ sơ, 1 người dùng" in out.output
    assert "chờ gửi 1" in out.output
