"""Following a dossier end to end against the fake Bot API: lookup, verify, follow, an import
changes the dossier, exactly one message arrives; /theodoi and the stop button; a sender killed
mid-delivery never sends a notification twice.

Rasa itself is replaced by the fake REST channel, which answers the lookup message with what the
dossier action computes: the real lookup (verification of the phone's last digits) and the real
follow button of actions.dossiers (which records the offer).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from actions.dossiers import follow_buttons
from trolydvc.db import session_scope
from trolydvc.db.bot_models import Delivery
from trolydvc.db.follow_models import FollowNotification
from trolydvc.tracking import follow
from trolydvc.tracking.importer import import_file
from trolydvc.tracking.lookup import lookup
from trolydvc.tracking.lookup_guard import RateLimiter

# within the importer's plausible range (at most a year ahead), far enough not to pass
FAR_DUE = (date.today() + timedelta(days=300)).strftime("%d/%m/%Y")

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)
CODE = "000.00.20.H50-261107-0001"
CHAT = 5151


def export(tmp_path: Path, rows: list[tuple[str, str, str]], name: str) -> None:
    lines = [
        f"{code},1.001193,Đăng ký khai sinh,Nguyễn Văn An,0912 345 {phone},07/11/2026 08:30,"
        f"{FAR_DUE},{'08/11/2026 10:00' if status == 'Đã có kết quả' else ''},,{status},"
        "Trực tiếp,UBND xã A,Hộ tịch\n"
        for code, status, phone in rows
    ]
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    assert import_file(path).errors == []


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    from trolydvc.tracking import privacy

    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    monkeypatch.setenv("TROLYDVC_FOLLOW_NOTIFY_INTERVAL", "0.3")
    monkeypatch.delenv("REDIS_URL", raising=False)
    privacy._key.cache_clear()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bots(request: pytest.FixtureRequest) -> Any:
    """Starts bots on a scratch SQLite or PostgreSQL database (DATABASE_URL set for both)."""
    return request.getfixturevalue("make_bot" if request.param == "sqlite" else "make_pg_bot")


async def answer_as_the_action(rasa: Any, chat_id: int, message: str, code: str) -> None:
    result = lookup(code, sender_id=f"tg:{chat_id}", phone_last4="5678", limiter=RateLimiter())
    buttons = await follow_buttons(result.kind, result.code, f"tg:{chat_id}")
    rasa.script[message] = [{"text": result.text, "buttons": buttons}]


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def test_lookup_verify_follow_import_one_message(bots, telegram, rasa, tmp_path):
    export(tmp_path, [(CODE, "Đang xử lý", "678")], "a.csv")
    await bots()
    message = f"{CODE} 5678"
    await answer_as_the_action(rasa, CHAT, message, CODE)
    telegram.new_message(CHAT, message)
    [answer] = await telegram.wait_sent(CHAT)
    [(title, data)] = buttons_of(answer)
    assert title == "Theo dõi hồ sơ này"
    telegram.press(answer, data)
    sent = await telegram.wait_for(
        lambda: [m for m in telegram.sent(CHAT) if "Bạn đã theo dõi hồ sơ" in m["text"]]
    )
    assert CODE in sent[0]["text"]
    # Another chat that never verified cannot follow with the same payload.
    [hello] = await telegram.wait_sent(CHAT + 1) if telegram.new_message(CHAT + 1, "x") else []
    telegram.press(hello, data)
    refused = await telegram.wait_sent(CHAT + 1, 2)
    assert "xác nhận 4 số cuối" in refused[-1]["text"]
    assert follow.followed(CHAT + 1) == []

    before = len(telegram.sent(CHAT))
    export(tmp_path, [(CODE, "Đã có kết quả", "678")], "b.csv")
    notes = await telegram.wait_for(
        lambda: [m for m in telegram.sent(CHAT)[before:] if "Đã có kết quả" in m["text"]], 30
    )
    await asyncio.sleep(1.5)  # several more notifier runs: still exactly one message
    assert len(notes) == 1 and len(telegram.sent(CHAT)) == before + 1
    assert "giấy tiếp nhận" in notes[0]["text"] and "Nguyễn" not in notes[0]["text"]

    telegram.new_message(CHAT, "/theodoi")
    listing = await telegram.wait_for(
        lambda: [m for m in telegram.sent(CHAT) if "Hồ sơ Bạn đang theo dõi" in m["text"]]
    )
    [(_, stop)] = buttons_of(listing[-1])
    telegram.press(listing[-1], stop)
    await telegram.wait_for(lambda: follow.followed(CHAT) == [])


async def test_a_killed_sender_never_sends_a_notification_twice(bots, telegram, tmp_path):
    chats = list(range(30_000, 30_300))
    codes = [f"000.00.20.H50-261107-{i:04d}" for i in range(1, len(chats) + 1)]
    export(tmp_path, [(c, "Đang xử lý", "678") for c in codes], "a.csv")
    for chat, code in zip(chats, codes, strict=True):
        assert follow.record_offer(f"tg:{chat}", code)
        assert follow.follow(chat, f"tg:{chat}", code).kind == "followed"
    export(tmp_path, [(c, "Chờ bổ sung", "678") for c in codes], "b.csv")
    report = follow.notify()
    assert report.messages == len(chats)
    telegram.latency = 0.02  # requests take a little time, so some are in flight at the kill
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("follow_sender_process.py")),
        telegram.base_url,
        telegram.token,
        str(report.broadcast_id),
        "150",
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        await telegram.wait_for(
            lambda: sum(telegram.delivered_count[c] for c in chats) >= 100, timeout=120
        )
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    second = await bots(overall_rate=500.0)
    manager = second.app.bot_data["broadcasts"]
    await telegram.wait_for(lambda: report.broadcast_id in manager.tasks, 30)
    result = await asyncio.wait_for(manager.tasks[report.broadcast_id], 120)
    with session_scope() as s:
        status = dict(
            s.execute(
                select(Delivery.chat_id, Delivery.status).where(
                    Delivery.id.in_(select(FollowNotification.delivery_id))
                )
            ).all()
        )
    for chat, code in zip(chats, codes, strict=True):
        got = telegram.sent(chat)
        assert len(got) <= 1, chat  # never twice
        if status[chat] == "sent":
            assert len(got) == 1 and code in got[0]["text"] and "bổ sung" in got[0]["text"]
        else:
            assert status[chat] == "unknown"  # was in flight at the kill: reported, not resent
    assert result["sent"] + result["unknown"] == len(chats)
