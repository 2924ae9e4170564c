"""Human handoff both ways, quiet bot while the case is open, closing, timeout and the rating."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import store
from trolydvc.db import session_scope
from trolydvc.db.bot_models import Feedback, HandoffCase

DESK = -100500
OFFICIAL = 777002
CITIZEN = 555002


def keyboard_data(message):
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_handoff_both_ways_then_rating(make_bot, telegram, rasa):
    await make_bot(officials_chat_id=DESK)
    store.add_official(OFFICIAL, "official", "")
    rasa.script["tôi muốn gặp cán bộ"] = [
        {"text": "Tôi sẽ chuyển Bạn đến cán bộ."},
        {"custom": {"channel_action": "handoff"}},
    ]
    telegram.new_message(CITIZEN, "hồ sơ của tôi bị trả lại")
    await telegram.wait_sent(CITIZEN)
    telegram.new_message(CITIZEN, "tôi muốn gặp cán bộ")
    sent = await telegram.wait_sent(CITIZEN, 3)
    assert "đã chuyển cuộc trò chuyện" in sent[2]["text"]
    desk = await telegram.wait_sent(DESK, 3)
    assert "Yêu cầu #" in desk[0]["text"]
    assert [m.get("text") for m in desk[1:3]] == ["hồ sơ của tôi bị trả lại", "tôi muốn gặp cán bộ"]
    # While the case is open, the citizen's messages go to the desk and the bot stays quiet.
    asked = len(rasa.received)
    citizen_msg = telegram.new_message(CITIZEN, "mã hồ sơ là 000.00.20.H50-221107-0001")
    photo = {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]}
    telegram.new_message(CITIZEN, extra=photo)
    await telegram.wait_sent(DESK, 5)
    assert len(rasa.received) == asked and len(telegram.sent(CITIZEN)) == 3
    forwarded = telegram.sent(DESK)[3]
    assert forwarded["text"] == citizen_msg["text"]
    # An official replies to the forwarded message: it reaches the citizen.
    telegram.new_message(
        DESK,
        "Chào Bạn, hồ sơ cần bổ sung bản sao CCCD.",
        chat_type="supergroup",
        user_id=OFFICIAL,
        reply_to=forwarded,
    )
    sent = await telegram.wait_sent(CITIZEN, 4)
    assert sent[3]["text"] == "Cán bộ trả lời:\nChào Bạn, hồ sơ cần bổ sung bản sao CCCD."
    # A group member who is not an official cannot answer.
    telegram.new_message(
        DESK, "tôi trả lời hộ", chat_type="supergroup", user_id=999, reply_to=forwarded
    )
    await telegram.wait_sent(DESK, 6)
    assert "Chỉ cán bộ" in telegram.sent(DESK)[5]["text"]
    assert len(telegram.sent(CITIZEN)) == 4
    # Ordinary chatter in the desk is ignored.
    telegram.new_message(DESK, "chào mọi người", chat_type="supergroup", user_id=OFFICIAL)
    # The official closes the case with the button: the citizen is asked for a rating.
    telegram.press(desk[0], keyboard_data(desk[0])[0], user_id=OFFICIAL)
    sent = await telegram.wait_sent(CITIZEN, 6)
    assert "Cán bộ đã kết thúc" in sent[4]["text"]
    rating = sent[5]
    assert keyboard_data(rating)[3].startswith("fb:4:handoff:")
    telegram.press(rating, keyboard_data(rating)[3])
    sent = await telegram.wait_sent(CITIZEN, 7)
    telegram.new_message(CITIZEN, "Cán bộ hỗ trợ nhanh, cảm ơn")
    sent = await telegram.wait_sent(CITIZEN, 8)
    assert "góp ý đã được ghi nhận" in sent[7]["text"]
    with session_scope() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert (feedback.rating, feedback.comment) == (4, "Cán bộ hỗ trợ nhanh, cảm ơn")
        assert feedback.sender_id == f"tg:{CITIZEN}" and feedback.topic.startswith("handoff:")
        assert session.scalars(select(HandoffCase)).one().status == "closed"
    # The assistant answers again.
    telegram.new_message(CITIZEN, "cảm ơn")
    sent = await telegram.wait_sent(CITIZEN, 9)
    assert sent[8]["text"] == "Bạn hỏi: cảm ơn"
    # A late reply to the closed case is answered in the desk, not delivered.
    telegram.new_message(
        DESK, "còn gì nữa không?", chat_type="supergroup", user_id=OFFICIAL, reply_to=forwarded
    )
    await telegram.wait_for(
        lambda: any("đã đóng" in (m.get("text") or "") for m in telegram.sent(DESK)[-2:])
    )
    assert len(telegram.sent(CITIZEN)) == 9


async def test_citizen_ends_and_timeout_closes(make_bot, telegram):
    running = await make_bot(officials_chat_id=DESK, handoff_timeout=3600)
    telegram.new_message(CITIZEN, "/canbo")
    await telegram.wait_sent(CITIZEN)
    telegram.new_message(CITIZEN, "/canbo")
    sent = await telegram.wait_sent(CITIZEN, 2)
    assert "đã được chuyển" in sent[1]["text"]
    telegram.new_message(CITIZEN, "/ketthuc")
    sent = await telegram.wait_sent(CITIZEN, 4)
    assert "Bạn đã kết thúc" in sent[2]["text"] and keyboard_data(sent[3])[0] == "fb:1:handoff:1"
    telegram.new_message(CITIZEN, "/ketthuc")
    sent = await telegram.wait_sent(CITIZEN, 5)
    assert "không trao đổi" in sent[4]["text"]
    # A second case left idle is closed by the periodic job.
    telegram.new_message(CITIZEN, "/human")
    await telegram.wait_sent(CITIZEN, 6)
    closed = store.expire_cases(timedelta(seconds=3600), now=None)
    assert closed == []  # not idle yet
    running.app.bot_data["settings"].handoff_timeout = 0.0
    from bot.handoff import expire_job

    class Ctx:
        bot = running.app.bot
        bot_data = running.app.bot_data
        application = running.app

    await expire_job(Ctx())
    sent = await telegram.wait_sent(CITIZEN, 8)
    assert "lâu không có hoạt động" in sent[6]["text"]
    assert store.active_case(CITIZEN) is None


async def test_no_desk_configured_gives_hotline(bot, telegram):
    telegram.new_message(CITIZEN, "/canbo")
    sent = await telegram.wait_sent(CITIZEN)
    assert "chưa có cán bộ" in sent[0]["text"]


async def test_unreachable_desk_does_not_trap_the_citizen(make_bot, telegram, rasa):
    await make_bot(officials_chat_id=DESK)
    telegram.blocked.add(DESK)  # e.g. the bot was removed from the officials' group
    telegram.new_message(CITIZEN, "/canbo")
    sent = await telegram.wait_sent(CITIZEN)
    assert "chưa có cán bộ" in sent[0]["text"]
    assert store.active_case(CITIZEN) is None
    telegram.new_message(CITIZEN, "xin chào")
    sent = await telegram.wait_sent(CITIZEN, 2)
    assert sent[1]["text"] == "Bạn hỏi: xin chào"
