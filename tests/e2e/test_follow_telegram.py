"""Following a dossier end to end with nothing replaced but Telegram: the bot (polling the fake
Bot API) talks to the real Rasa and action server of this session. Lookup, verify, the follow
button, an import changes the dossier, exactly one message arrives.

tests/bot/test_follow.py covers the same path with a scripted Rasa, on SQLite and PostgreSQL, and
a sender killed mid-delivery; this test shows the pieces agree with each other: the button the
action server offers is the one the bot understands, and the offer it records is the one the
bot's follow handler checks.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.bot.conftest import FakeTelegram, bot_factory
from trolydvc.tracking import follow
from trolydvc.tracking.demo import SHOWCASE_PHONE, SHOWCASE_PHONE_LAST4
from trolydvc.tracking.importer import import_file

pytestmark = pytest.mark.rasa

# A code of its own, sorting after the demo dossiers' codes: other tests pick those by order.
CODE = "000.00.99.H99-261201-7001"
CHAT = 7001
HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)
FAR_DUE = (date.today() + timedelta(days=300)).strftime("%d/%m/%Y")


def export(tmp_path: Path, status: str, name: str) -> None:
    resolved = (date.today() - timedelta(days=1)).strftime("%d/%m/%Y 10:00")
    received = (date.today() - timedelta(days=3)).strftime("%d/%m/%Y 08:30")
    path = tmp_path / name
    path.write_text(
        HEADER + f"{CODE},1.001193,Đăng ký khai sinh,Nguyễn Văn An,{SHOWCASE_PHONE},{received},"
        f"{FAR_DUE},{resolved if status == 'Đã có kết quả' else ''},,{status},"
        "Trực tuyến,UBND xã A,Hộ tịch\n",
        encoding="utf-8",
    )
    assert import_file(path).errors == []


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def test_follow_through_the_real_assistant(assistant, tmp_path, monkeypatch):
    monkeypatch.setenv("TROLYDVC_FOLLOW_NOTIFY_INTERVAL", "0.3")
    export(tmp_path, "Đang xử lý", "a.csv")
    telegram = await FakeTelegram().start()
    try:
        async with bot_factory(telegram, None) as make_bot:
            await make_bot(rasa_url=assistant.url, rasa_timeout=60.0)
            telegram.new_message(CHAT, f"tra cứu hồ sơ {CODE}")
            asked = await telegram.wait_for(
                lambda: [m for m in telegram.sent(CHAT) if "4 số cuối" in m["text"]], 60
            )
            assert "Nguyễn" not in asked[0]["text"]
            telegram.new_message(CHAT, SHOWCASE_PHONE_LAST4)
            verified = await telegram.wait_for(
                lambda: [m for m in telegram.sent(CHAT) if buttons_of(m)], 60
            )
            offer = [(t, d) for t, d in buttons_of(verified[-1]) if t == "Theo dõi hồ sơ này"]
            assert len(offer) == 1, buttons_of(verified[-1])
            telegram.press(verified[-1], offer[0][1])
            await telegram.wait_for(
                lambda: [m for m in telegram.sent(CHAT) if "Bạn đã theo dõi hồ sơ" in m["text"]]
            )
            assert [f.code for f in follow.followed(CHAT)] == [CODE]

            before = len(telegram.sent(CHAT))
            export(tmp_path, "Đã có kết quả", "b.csv")
            notes = await telegram.wait_for(
                lambda: [m for m in telegram.sent(CHAT)[before:] if "Đã có kết quả" in m["text"]],
                30,
            )
            await asyncio.sleep(1.5)  # several more notifier runs: still exactly one message
            assert len(notes) == 1 and len(telegram.sent(CHAT)) == before + 1
            assert CODE in notes[0]["text"] and "Nguyễn" not in notes[0]["text"]
    finally:
        await telegram.stop()
