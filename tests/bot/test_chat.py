"""Citizens' chat against the fake Bot API and a scripted Rasa: commands, buttons, language, errors."""

from __future__ import annotations

import socket

from sqlalchemy import select

from bot import store
from trolydvc.locality import load_locality
from trolydvc.textnorm import fold

CHAT = 424242


def keyboard_data(message):
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_start_registers_commands_and_shows_menu(bot, telegram):
    telegram.new_message(CHAT, "/start")
    sent = await telegram.wait_sent(CHAT)
    assert "Trợ lý Dịch vụ công" in sent[0]["text"]
    assert "m:proc" in keyboard_data(sent[0])
    # Commands menu in Vietnamese (default) and English, with the Vietnamese command names.
    vi_names = [c["command"] for c in telegram.commands[""]]
    assert {"tracuu", "thutuc", "dangky", "huydangky", "ngonngu", "canbo"} <= set(vi_names)
    en_descriptions = {c["command"]: c["description"] for c in telegram.commands["en"]}
    assert en_descriptions["dangky"] == "Receive announcements"
    vi_descriptions = {c["command"]: c["description"] for c in telegram.commands["vi"]}
    assert vi_descriptions["dangky"] != "Receive announcements"


async def test_free_text_goes_to_rasa_as_this_chat_with_html_escaped(bot, telegram, rasa):
    rasa.script["giấy tờ khai sinh"] = [{"text": "Cần <Tờ khai> & giấy chứng sinh"}]
    telegram.new_message(CHAT, "giấy tờ khai sinh")
    sent = await telegram.wait_sent(CHAT)
    assert sent[0]["text"] == "Cần <Tờ khai> & giấy chứng sinh"
    assert sent[0]["html"] == "Cần &lt;Tờ khai&gt; &amp; giấy chứng sinh"
    assert rasa.received[0]["sender"] == f"tg:{CHAT}"
    assert rasa.received[0]["metadata"] == {"channel": "telegram", "language": "vi"}
    assert telegram.calls_of("sendChatAction")


async def test_buttons_round_trip_and_keyboard_cannot_be_pressed_twice(bot, telegram, rasa):
    long_payload = '/ask_fee{"procedure":"1.001193","extra":"' + "x" * 80 + '"}'
    rasa.script["lệ phí"] = [
        {
            "text": "Bạn hỏi thủ tục nào?",
            "buttons": [
                {"title": "Đăng ký khai sinh", "payload": '/inform{"procedure":"1.001193"}'},
                {"title": "Thủ tục dài", "payload": long_payload},
            ],
        }
    ]
    rasa.script['/inform{"procedure":"1.001193"}'] = [{"text": "Lệ phí: miễn"}]
    rasa.script[long_payload] = [{"text": "Trả lời dài"}]
    telegram.new_message(CHAT, "lệ phí")
    question = (await telegram.wait_sent(CHAT))[0]
    data = keyboard_data(question)
    assert data[0] == 'p:/inform{"procedure":"1.001193"}'
    assert data[1].startswith("k:")  # too long for Telegram's 64 bytes: kept server side
    telegram.press(question, data[0])
    sent = await telegram.wait_sent(CHAT, 2)
    assert sent[1]["text"] == "Lệ phí: miễn"
    edited = telegram.messages[(CHAT, question["message_id"])]
    assert "reply_markup" not in edited
    assert "Đăng ký khai sinh" in edited["text"]
    # A second press (a stale client) does not reach Rasa again.
    received = len(rasa.received)
    telegram.press(question, data[1])
    await telegram.wait_for(lambda: len(telegram.calls_of("answerCallbackQuery")) >= 2)
    assert len(rasa.received) == received
    # The long payload works on a fresh keyboard.
    telegram.new_message(CHAT, "lệ phí")
    again = (await telegram.wait_sent(CHAT, 3))[2]
    telegram.press(again, keyboard_data(again)[1])
    sent = await telegram.wait_sent(CHAT, 4)
    assert sent[3]["text"] == "Trả lời dài"
    assert rasa.received[-1]["message"] == long_payload


async def test_stale_callback_payload_is_answered_not_crashing(bot, telegram):
    telegram.new_message(CHAT, "/start")
    menu = (await telegram.wait_sent(CHAT))[0]
    telegram.press(menu, "k:doesnotexist:0")
    await telegram.wait_for(lambda: telegram.calls_of("answerCallbackQuery"))
    telegram.press(menu, "garbage-without-colon")
    await telegram.wait_for(lambda: len(telegram.calls_of("answerCallbackQuery")) >= 2)
    telegram.press(menu, "sub:999")
    await telegram.wait_for(lambda: len(telegram.calls_of("answerCallbackQuery")) >= 3)


async def test_long_answer_is_split_at_line_boundaries(bot, telegram, rasa):
    lines = [f"{i}. Giấy tờ số {i} & bản sao" + " có chứng thực" * 5 for i in range(150)]
    rasa.script["dài"] = [
        {"text": "\n".join(lines), "buttons": [{"title": "OK", "payload": "/affirm"}]}
    ]
    telegram.new_message(CHAT, "dài")
    await telegram.wait_for(lambda: len(telegram.delivered[CHAT]) >= 3)
    await telegram.wait_for(lambda: any(m.get("reply_markup") for m in telegram.sent(CHAT)))
    sent = telegram.sent(CHAT)
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert "\n".join(m["text"] for m in sent) == "\n".join(lines)
    assert "reply_markup" in sent[-1] and all("reply_markup" not in m for m in sent[:-1])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_rasa_down_gives_polite_message_and_retry_works(make_bot, telegram, rasa):
    await make_bot(rasa_url=f"http://127.0.0.1:{_closed_port()}")
    telegram.new_message(CHAT, "xin chào")
    sent = await telegram.wait_sent(CHAT)
    assert "thử lại" in sent[0]["text"].lower()
    retry = keyboard_data(sent[0])[0]
    assert retry.startswith("retry:")


async def test_rasa_retry_button_resends_the_question(bot, telegram, rasa):
    rasa.delay = 3.0  # longer than the bot's 2 s timeout
    telegram.new_message(CHAT, "xin chào")
    sent = await telegram.wait_sent(CHAT, timeout=15)
    assert "thử lại" in sent[0]["text"].lower()
    rasa.delay = 0
    telegram.press(sent[0], keyboard_data(sent[0])[0])
    sent = await telegram.wait_sent(CHAT, 2)
    assert sent[1]["text"] == "Bạn hỏi: xin chào"


async def test_language_switch_is_remembered(make_bot, telegram, database):
    running = await make_bot()
    telegram.new_message(CHAT, "/ngonngu")
    choice = (await telegram.wait_sent(CHAT))[0]
    telegram.press(choice, "lang:en")
    sent = await telegram.wait_sent(CHAT, 2)
    assert sent[1]["text"].startswith("From now on I will write in English")
    assert store.get_profile(CHAT).language == "en"
    await running.stop()
    # A new bot process: the choice is read back from the database.
    await make_bot()
    telegram.new_message(CHAT, "/help")
    sent = await telegram.wait_sent(CHAT, 3)
    assert "What I can do" in sent[2]["text"]
    telegram.new_message(CHAT, "/language vi")
    sent = await telegram.wait_sent(CHAT, 4)
    assert "Tiếng Việt" in sent[3]["text"] or "tiếng Việt" in sent[3]["text"]


async def test_english_client_gets_english_by_default(bot, telegram):
    telegram.new_message(CHAT, "/start", language_code="en-US")
    sent = await telegram.wait_sent(CHAT)
    assert "Public Services Assistant" in sent[0]["text"]


async def test_tracuu_usage_bad_and_unknown_codes(bot, telegram):
    telegram.new_message(CHAT, "/tracuu")
    sent = await telegram.wait_sent(CHAT)
    assert "000.00.20.H50-221107-0001" in sent[0]["text"]
    telegram.new_message(CHAT, "/tracuu " + "A" * 4000)
    sent = await telegram.wait_sent(CHAT, 2)
    assert len(sent[1]["text"]) < 500
    telegram.new_message(CHAT, "/tracuu 000.00.20.H50-221107-9999")
    sent = await telegram.wait_sent(CHAT, 3, timeout=20)
    assert sent[2]["text"]


async def test_thutuc_lists_catalog_hits_with_code_and_source(bot, telegram):
    telegram.new_message(CHAT, "/thutuc khai sinh")
    sent = await telegram.wait_sent(CHAT, timeout=30)
    text = sent[0]["text"]
    assert "1.001193" in text or "Mã" in text
    assert "<a href=" in sent[0]["html"] or "không có" in text
    assert keyboard_data(sent[0])[0].startswith(("p:", "k:"))
    telegram.new_message(CHAT, "/thutuc " + "x" * 4000)
    sent = await telegram.wait_sent(CHAT, 2, timeout=30)
    assert len(sent[1]["text"]) < 1000


async def test_subscribe_by_an_old_commune_name(bot, telegram):
    """Quảng Trị (the shipped locality): 'Gio Mỹ' was merged into Xã Gio Linh in 2025."""
    telegram.new_message(CHAT, "/dangky xã Gio Mỹ, huyện Gio Linh")
    sent = await telegram.wait_sent(CHAT)
    assert store.get_profile(CHAT).commune == "Xã Gio Linh"
    assert "Xã Gio Linh" in sent[0]["text"]
    telegram.new_message(CHAT, "/dangky")
    choice = (await telegram.wait_sent(CHAT, 2))[1]
    rows = choice["reply_markup"]["inline_keyboard"]
    assert len(rows[1]) == 2 and len(rows) < len(load_locality().communes)  # two per row


async def test_subscribe_by_commune_and_unsubscribe(bot, telegram):
    from trolydvc.db import session_scope
    from trolydvc.db.bot_models import Subscriber

    telegram.new_message(CHAT, "/dangky")
    choice = (await telegram.wait_sent(CHAT))[0]
    data = keyboard_data(choice)
    assert data[0] == "sub:*" and len(data) > 1
    telegram.press(choice, data[1])
    sent = await telegram.wait_sent(CHAT, 2)
    profile = store.get_profile(CHAT)
    assert profile.subscribed and profile.commune and profile.commune in sent[1]["text"]
    last = load_locality().communes[-1].name
    bare = fold(last).split(" ", 1)[1]  # "xa binh minh" -> "binh minh": no diacritics, no "xã"
    telegram.new_message(CHAT, f"/subscribe {bare}")
    sent = await telegram.wait_sent(CHAT, 3)
    assert store.get_profile(CHAT).commune == last
    telegram.new_message(CHAT, "/dangky Sao Hỏa")
    sent = await telegram.wait_sent(CHAT, 4)
    assert "Sao Hỏa" in sent[3]["text"] and store.get_profile(CHAT).commune == last
    telegram.new_message(CHAT, "/huydangky")
    await telegram.wait_sent(CHAT, 5)
    assert not store.get_profile(CHAT).subscribed
    with session_scope() as session:
        assert len(session.scalars(select(Subscriber)).all()) == 1


async def test_bad_input_media_edits_groups_unknown_commands(bot, telegram, rasa):
    telegram.new_message(
        CHAT, extra={"photo": [{"file_id": "a", "file_unique_id": "a", "width": 1, "height": 1}]}
    )
    telegram.new_message(
        CHAT,
        extra={
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
    )
    telegram.new_message(
        CHAT, extra={"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}}
    )
    sent = await telegram.wait_sent(CHAT, 3)
    assert all("văn bản" in m["text"] for m in sent)
    telegram.new_message(CHAT, "sửa lại câu hỏi", edited=True)
    telegram.new_message(-100777, "chào cả nhóm", chat_type="group", user_id=5)
    telegram.new_message(-100777, "/start", chat_type="group", user_id=5)
    telegram.new_message(CHAT, "/khongcolenhnay")
    sent = await telegram.wait_sent(CHAT, 4)
    assert "/tracuu" in sent[3]["text"]
    assert not telegram.delivered.get(-100777)
    assert all(r["message"] != "sửa lại câu hỏi" for r in rasa.received)
    telegram.new_message(CHAT, "x" * 4000)
    sent = await telegram.wait_sent(CHAT, 5)
    assert sent[4]["text"].startswith("Bạn hỏi")


async def test_rating_after_an_answered_procedure_question_once_a_day(bot, telegram, rasa):
    rasa.script["lệ phí khai sinh"] = [{"text": "Lệ phí: miễn lệ phí.\nMã thủ tục: 1.001193."}]
    telegram.new_message(CHAT, "lệ phí khai sinh")
    sent = await telegram.wait_sent(CHAT, 2)
    assert keyboard_data(sent[1]) == [f"fb:{n}:1.001193" for n in range(1, 6)]
    telegram.press(sent[1], "fb:5:1.001193")
    await telegram.wait_sent(CHAT, 3)
    telegram.new_message(CHAT, "/boqua")
    await telegram.wait_sent(CHAT, 4)
    telegram.new_message(CHAT, "lệ phí khai sinh")
    await telegram.wait_sent(CHAT, 5)
    telegram.new_message(CHAT, "/start")
    sent = await telegram.wait_sent(CHAT, 6)
    assert "Trợ lý" in sent[5]["text"]  # no second rating request in between
    from trolydvc.db import session_scope
    from trolydvc.db.bot_models import Feedback

    with session_scope() as session:
        row = session.scalars(select(Feedback)).one()
        assert (row.rating, row.topic, row.comment) == (5, "1.001193", None)


async def test_channel_buttons_are_handled_by_the_bot(bot, telegram, rasa):
    rasa.script["menu"] = [
        {
            "text": "Bạn cần gì?",
            "buttons": [
                {"title": "Gặp cán bộ", "payload": "/request_human"},
                {"title": "Nhận thông báo", "payload": "/subscribe_notifications"},
            ],
        }
    ]
    telegram.new_message(CHAT, "menu")
    menu = (await telegram.wait_sent(CHAT))[0]
    telegram.press(menu, keyboard_data(menu)[0])
    sent = await telegram.wait_sent(CHAT, 2)
    assert "chưa có cán bộ" in sent[1]["text"]  # no desk configured in this test
    telegram.new_message(CHAT, "menu")
    menu = (await telegram.wait_sent(CHAT, 3))[2]
    telegram.press(menu, keyboard_data(menu)[1])
    sent = await telegram.wait_sent(CHAT, 4)
    assert keyboard_data(sent[3])[0] == "sub:*"
    assert [r["message"] for r in rasa.received] == ["menu", "menu"]


async def test_tracuu_passes_the_phone_digits(bot, telegram, monkeypatch):
    from bot import chat as chat_handlers

    calls = []

    def fake_describe(code, *, sender_id, phone_last4=None):
        calls.append((code, sender_id, phone_last4))
        return "Hồ sơ <đang xử lý> & đúng hạn"

    monkeypatch.setattr(chat_handlers, "describe_dossier", fake_describe)
    telegram.new_message(CHAT, "/tracuu 000.00.20.H50-221107-0001 6789")
    sent = await telegram.wait_sent(CHAT)
    assert calls == [("000.00.20.H50-221107-0001", f"tg:{CHAT}", "6789")]
    assert sent[0]["text"] == "Hồ sơ <đang xử lý> & đúng hạn"


async def test_errors_are_logged_without_personal_data(make_bot, telegram, caplog):
    from telegram.ext import CommandHandler

    running = await make_bot()

    async def boom(update, context):
        raise RuntimeError("failure while handling")

    running.app.add_handler(CommandHandler("boom", boom), group=-1)
    telegram.new_message(CHAT, "/boom Nguyễn Văn An 0912345678")
    sent = await telegram.wait_sent(CHAT)
    assert "gặp sự cố" in sent[0]["text"]
    assert "RuntimeError" in caplog.text
    for private in ("Nguyễn", "0912345678", str(CHAT)):
        assert private not in caplog.text
