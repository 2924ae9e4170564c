"""`trolydvc bot` as a real process: long polling against the fake Bot API, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot import broadcast_store as bc
from bot import store


async def test_trolydvc_bot_process_polls_answers_and_stops_cleanly(telegram, rasa, database):
    exe = Path(sys.executable).with_name("trolydvc")
    store.subscribe(4242, "vi", None)
    broadcast_id = bc.create_broadcast("Thông báo đang gửi dở", author_id=None, commune=None)
    bc.start_broadcast(broadcast_id)  # interrupted before any delivery: the process resumes it
    env = dict(
        os.environ,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        RASA_URL=rasa.url,
        DATABASE_URL=database,
        TELEGRAM_PER_CHAT_INTERVAL="0",
    )
    env.pop("WEBHOOK_URL", None)
    process = await asyncio.create_subprocess_exec(
        str(exe), "bot", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await telegram.wait_for(lambda: telegram.commands, timeout=60)  # post_init ran
        telegram.new_message(777, "/start")
        sent = await telegram.wait_sent(777, timeout=30)
        assert "Trợ lý Dịch vụ công" in sent[0]["text"]
        resumed = await telegram.wait_sent(4242, timeout=30)
        assert [m["text"] for m in resumed] == ["Thông báo đang gửi dở"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr
    assert b"777" not in stderr  # no raw chat ids in the logs
