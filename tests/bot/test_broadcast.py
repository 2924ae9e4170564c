"""Broadcast sender: 2,000 subscribers, injected 429s/403s/502s, killed mid-way and resumed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, insert, select

from bot import broadcast_store as bc
from bot import store
from bot.broadcast import SenderOptions
from bot.pacing import PacedRateLimiter
from trolydvc.db import session_scope
from trolydvc.db.bot_models import Delivery, Subscriber

OFFICIAL = 777003
N = 2000
TEXT = "Thông báo: từ 01/12, bộ phận một cửa làm việc cả sáng thứ Bảy."
ROOT = Path(__file__).resolve().parents[2]


def add_subscribers(chat_ids: list[int]) -> None:
    with session_scope() as session:
        session.execute(
            insert(Subscriber),
            [{"chat_id": c, "language": "vi", "subscribed": True} for c in chat_ids],
        )


def copies(telegram, chat_id: int) -> int:
    return sum(1 for m in telegram.sent(chat_id) if m.get("text") == TEXT)


def delivered_total(telegram, chats) -> int:
    return sum(copies(telegram, c) for c in chats)


def statuses(broadcast_id: int) -> dict[int, str]:
    with session_scope() as session:
        return dict(
            session.execute(
                select(Delivery.chat_id, Delivery.status).where(
                    Delivery.broadcast_id == broadcast_id
                )
            ).all()
        )


async def test_2000_subscribers_with_429_403_502_killed_and_resumed(make_bot, telegram):
    chats = list(range(10_000, 10_000 + N))
    add_subscribers(chats)
    store.add_official(OFFICIAL, "official", "")
    blocked = set(chats[::40])  # 50 users blocked the bot
    telegram.blocked = set(blocked)
    for chat_id in chats[5::400]:
        telegram.inject_429[chat_id] = 1  # flood control on some sends
    for chat_id in chats[7::101]:
        telegram.inject_5xx[chat_id] = 2  # transient server errors, twice
    telegram.rate_limit = 400  # the fake server also enforces a (test-sized) rate cap
    options = SenderOptions(backoff_base=0.05, progress_every=0.5)
    broadcast_id = bc.create_broadcast(
        TEXT, author_id=None, commune=None, progress_chat_id=OFFICIAL
    )
    first = await make_bot(overall_rate=380.0, sender_options=options)
    first.app.bot_data["broadcasts"].start(broadcast_id)
    await telegram.wait_for(lambda: delivered_total(telegram, chats) >= 600, timeout=120)
    telegram.fail_next_sends_429 = 3  # a flood wait for everyone in the middle
    await telegram.wait_for(lambda: delivered_total(telegram, chats) >= 800, timeout=120)
    # Kill the bot mid-way: the Application stops, in-flight messages are finished and recorded.
    await first.stop()
    middle = statuses(broadcast_id)
    assert "pending" in middle.values() and "sending" not in middle.values()
    assert bc.get_broadcast(broadcast_id).status == "sending"
    # A new process starts: it resumes the interrupted broadcast by itself.
    second = await make_bot(overall_rate=380.0, sender_options=options)
    task = second.app.bot_data["broadcasts"].tasks[broadcast_id]
    result = await asyncio.wait_for(task, 180)
    for chat_id in chats:
        assert copies(telegram, chat_id) == (0 if chat_id in blocked else 1), chat_id
    assert result["sent"] == N - len(blocked)
    assert result["blocked"] == len(blocked)
    assert result["failed"] == result["unknown"] == result["pending"] == 0
    assert telegram.rate_limited > 0  # 429s really happened and were honoured
    with session_scope() as session:
        still = session.scalar(
            select(func.count())
            .select_from(Subscriber)
            .where(Subscriber.chat_id.in_(blocked), Subscriber.subscribed)
        )
    assert still == 0  # blocked users were unsubscribed
    final = telegram.sent(OFFICIAL)[-1]["text"]
    assert (
        "đã gửi xong" in final
        and "Đã gửi: 1.950" in final
        and "Đã chặn bot (đã hủy đăng ký): 50" in final
    )
    progress = telegram.sent(OFFICIAL)[0]
    assert progress.get("_edits", 0) >= 1  # the progress message was updated while sending


async def test_hard_kill_never_duplicates_and_reports_in_doubt(make_bot, telegram, database):
    """SIGKILL a sender process mid-way: rows in flight become `unknown` (reported, not resent)."""
    chats = list(range(20_000, 20_000 + 600))
    add_subscribers(chats)
    store.add_official(OFFICIAL, "official", "")
    broadcast_id = bc.create_broadcast(
        TEXT, author_id=None, commune=None, progress_chat_id=OFFICIAL
    )
    telegram.latency = 0.02  # requests take a little time, so some are in flight at the kill
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("sender_process.py")),
        telegram.base_url,
        telegram.token,
        str(broadcast_id),
        "150",
        env=env,
    )
    try:
        await telegram.wait_for(lambda: delivered_total(telegram, chats) >= 200, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    before = statuses(broadcast_id)
    assert "pending" in before.values()
    second = await make_bot(overall_rate=500.0)
    result = await asyncio.wait_for(second.app.bot_data["broadcasts"].tasks[broadcast_id], 120)
    after = statuses(broadcast_id)
    for chat_id in chats:
        n = copies(telegram, chat_id)
        assert n <= 1, chat_id  # never twice
        if after[chat_id] == "sent":
            assert n == 1
        else:
            assert after[chat_id] == "unknown" and before[chat_id] == "sending"
    assert result["unknown"] == sum(1 for s in before.values() if s == "sending")
    assert result["sent"] + result["unknown"] == len(chats)
    if result["unknown"]:
        assert "Không xác định" in telegram.sent(OFFICIAL)[-1]["text"]


async def test_pacing_spaces_requests_and_pauses_after_retry_after():
    """The limiter's schedule, checked with a fake clock (no timing assertions)."""
    now = [100.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = PacedRateLimiter(overall_rate=10.0, per_chat_interval=1.0, clock=lambda: now[0])
    original = asyncio.sleep
    asyncio.sleep = fake_sleep  # type: ignore[assignment]
    try:
        starts = []
        for chat_id in (1, 2, 3, 1):
            await limiter.acquire(chat_id)
            starts.append(round(now[0], 6))
        assert starts[:3] == [100.0, 100.1, 100.2]
        assert starts[3] == 101.0  # same chat: one second after its previous message
        limiter.pause(5.0)
        await limiter.acquire(4)
        assert now[0] >= 106.0
        # At most `window_cap` starts in any window (+ margin), even when slots were booked earlier.
        for _ in range(limiter.window_cap + 1):
            await limiter.gate()
        assert now[0] >= 106.0 + limiter.window + limiter.window_margin - 1e-9
    finally:
        asyncio.sleep = original  # type: ignore[assignment]


async def test_window_counts_a_request_from_when_it_was_written():
    """A request written late (after the gate) pushes back the one a window later (fake clock)."""
    now = [100.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = PacedRateLimiter(overall_rate=10.0, per_chat_interval=1.0, clock=lambda: now[0])
    original = asyncio.sleep
    asyncio.sleep = fake_sleep  # type: ignore[assignment]
    try:
        first = await limiter.gate()
        now[0] = 100.5  # e.g. a GC pause between the gate and the socket write
        limiter.mark_written(first)
        for _ in range(limiter.window_cap - 1):
            await limiter.gate()
        await limiter.gate()
        assert now[0] >= 100.5 + limiter.window + limiter.window_margin - 1e-9
    finally:
        asyncio.sleep = original  # type: ignore[assignment]


async def test_paced_request_reports_each_write_to_the_limiter(telegram):
    from telegram.ext import ExtBot

    from bot.pacing import paced_request

    class Recording(PacedRateLimiter):
        def __init__(self) -> None:
            super().__init__(overall_rate=30.0, per_chat_interval=1.0)
            self.writes: list[list[float]] = []

        def mark_written(self, record: list[float]) -> None:
            super().mark_written(record)
            self.writes.append(record)

    limiter = Recording()
    bot = ExtBot(
        telegram.token,
        base_url=telegram.base_url,
        rate_limiter=limiter,
        request=paced_request(limiter),
    )
    async with bot:  # getMe
        for chat_id in (501, 502, 503):
            await bot.send_message(chat_id, TEXT)
    assert [len(telegram.sent(c)) for c in (501, 502, 503)] == [1, 1, 1]
    # One write per request (getMe and the three messages), each one a start the window counts.
    assert len(limiter.writes) == 4
    assert all(record in limiter._starts for record in limiter.writes)
