"""The bot's storage on PostgreSQL: a broadcast interrupted and resumed, officials, handoff, feedback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert

from bot import broadcast_store as bc
from bot import store
from bot.broadcast import SenderOptions
from trolydvc.db import session_scope
from trolydvc.db.bot_models import Subscriber

pytestmark = pytest.mark.postgres
TEXT = "Thông báo thử trên PostgreSQL"


async def test_broadcast_resume_and_store_on_postgres(make_pg_bot, telegram):
    chats = list(range(50_000, 50_300))
    with session_scope() as session:
        session.execute(insert(Subscriber), [{"chat_id": c, "language": "vi"} for c in chats])
    blocked = set(chats[::30])
    telegram.blocked = set(blocked)
    for chat_id in chats[3::50]:
        telegram.inject_429[chat_id] = 1
    broadcast_id = bc.create_broadcast(TEXT, author_id=None, commune=None)
    options = SenderOptions(backoff_base=0.05)
    first = await make_pg_bot(overall_rate=300.0, sender_options=options)
    first.app.bot_data["broadcasts"].start(broadcast_id)

    def delivered() -> int:
        return sum(1 for c in chats for m in telegram.sent(c) if m.get("text") == TEXT)

    await telegram.wait_for(lambda: delivered() >= 100, timeout=60)
    await first.stop()
    second = await make_pg_bot(overall_rate=300.0, sender_options=options)
    result = await asyncio.wait_for(second.app.bot_data["broadcasts"].tasks[broadcast_id], 120)
    assert result["sent"] == len(chats) - len(blocked) and result["blocked"] == len(blocked)
    for chat_id in chats:
        copies = sum(1 for m in telegram.sent(chat_id) if m.get("text") == TEXT)
        assert copies == (0 if chat_id in blocked else 1)
    # Officials, handoff cases and feedback round-trip on PostgreSQL too.
    info, created = store.add_official(9_000_000_001, "admin", "Một cửa")
    assert created and store.official(9_000_000_001).role == "admin"
    case, new = store.open_case(chats[1], "vi")
    store.link_case_message(case.id, -1001, 42)
    assert new and store.case_of_group_message(-1001, 42).id == case.id
    assert store.expire_cases(timedelta(seconds=-1))[0].id == case.id
    feedback_id = store.save_feedback(f"tg:{chats[1]}", 3, None, f"handoff:{case.id}")
    store.add_feedback_comment(feedback_id, "ổn")
    assert store.unsubscribe(chats[1]) and not store.unsubscribe(chats[1])
