"""Officials: the CLI, refusals, statistics, composing and scheduling a broadcast."""

from __future__ import annotations

import logging
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from bot import broadcast_store as bc
from bot import store
from trolydvc.cli import main
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Broadcast, Subscriber

OFFICIAL = 777001
CITIZEN = 555001


def keyboard_data(message):
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def test_officials_cli_add_list_remove(database):
    runner = CliRunner()
    result = runner.invoke(main, ["officials", "list"])
    assert result.exit_code == 0 and "Chưa có cán bộ nào" in result.output
    result = runner.invoke(
        main, ["officials", "add", str(OFFICIAL), "--role", "admin", "--label", "Một cửa 1"]
    )
    assert result.exit_code == 0 and "Đã thêm" in result.output
    result = runner.invoke(main, ["officials", "add", str(OFFICIAL), "--role", "official"])
    assert result.exit_code == 0 and "Đã cập nhật" in result.output
    assert store.official(OFFICIAL).role == "official"
    result = runner.invoke(main, ["officials", "list"])
    assert str(OFFICIAL) in result.output and "official" in result.output
    result = runner.invoke(main, ["officials", "add", "-5"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = runner.invoke(main, ["officials", "add", "abc"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["officials", "remove", str(OFFICIAL)])
    assert result.exit_code == 0 and store.official(OFFICIAL) is None
    result = runner.invoke(main, ["officials", "remove", str(OFFICIAL)])
    assert result.exit_code == 1 and "không có trong danh sách cán bộ" in result.output


async def test_non_officials_are_refused_and_logged_without_their_id(bot, telegram, caplog):
    caplog.set_level(logging.INFO)
    for command in (
        "/thongbao Xin chào",
        "/thongke",
        "/broadcast",
        "/stats 2026",
        "/huythongbao 1",
    ):
        telegram.new_message(CITIZEN, command)
    sent = await telegram.wait_sent(CITIZEN, 5)
    assert all("chỉ dành cho cán bộ" in m["text"] for m in sent)
    assert "refused" in caplog.text
    assert str(CITIZEN) not in caplog.text
    # A forged officials' button press is refused too.
    telegram.press(sent[0], "bc:send")
    await telegram.wait_for(lambda: telegram.calls_of("answerCallbackQuery"))


async def test_statistics_for_an_official(bot, telegram):
    from datetime import datetime

    store.add_official(OFFICIAL, "official", "")
    store.save_feedback("tg:1", 5, None, None)
    store.save_feedback("tg:2", 4, "ok", None)
    store.open_case(3, "vi")
    year = datetime.now().year
    telegram.new_message(OFFICIAL, f"/thongke {year}")
    await telegram.wait_for(lambda: telegram.sent(OFFICIAL, "sendPhoto"), timeout=60)
    text, photo = telegram.sent(OFFICIAL)[:2]
    assert str(year) in text["text"]
    assert "Đánh giá của người dân qua bot: 2 lượt, trung bình 4,5/5." in text["text"]
    assert "Yêu cầu gặp cán bộ: 1." in text["text"]
    assert "Hồ sơ được theo dõi: 0 (của 0 người dùng)" in text["text"]
    assert photo["_method"] == "sendPhoto"
    telegram.new_message(OFFICIAL, "/thongke hôm qua")
    sent = await telegram.wait_sent(OFFICIAL, 3)
    assert "/thongke 10/2026" in sent[2]["text"]


async def test_statistics_for_a_relative_period(bot, telegram):
    """/thongke reads periods as the chat does ("tháng trước", "quý này", ...)."""
    from datetime import datetime

    from trolydvc.tracking.stats import Period
    from trolydvc.vietnam_time import VN_TZ

    store.add_official(OFFICIAL, "official", "")
    first = datetime.now(VN_TZ).date().replace(day=1)
    last_month = first - timedelta(days=1)
    telegram.new_message(OFFICIAL, "/thongke tháng trước")
    await telegram.wait_for(lambda: telegram.sent(OFFICIAL, "sendPhoto"), timeout=60)
    text = telegram.sent(OFFICIAL)[0]["text"]
    assert Period.month(last_month.year, last_month.month).label in text
    quarter = (first.month - 1) // 3 + 1
    telegram.new_message(OFFICIAL, "/stats quý này")
    await telegram.wait_for(lambda: len(telegram.sent(OFFICIAL, "sendPhoto")) == 2, timeout=60)
    assert Period.quarter(first.year, quarter).label in telegram.sent(OFFICIAL)[2]["text"]


def add_subscribers(chat_ids, commune=None):
    with session_scope() as session:
        session.add_all([Subscriber(chat_id=c, language="vi", commune=commune) for c in chat_ids])


async def test_compose_preview_audience_confirm_and_report(bot, telegram):
    from trolydvc.locality import load_locality

    commune = load_locality().commune_names[0]
    store.add_official(OFFICIAL, "official", "")
    add_subscribers(range(9000, 9010))  # all communes
    add_subscribers(range(9100, 9105), commune)
    add_subscribers(range(9200, 9203), "Another")
    telegram.new_message(OFFICIAL, "/thongbao")
    await telegram.wait_sent(OFFICIAL)
    text = "Lịch tiếp công dân thay đổi & <nghỉ lễ>"
    bold = {"type": "bold", "offset": text.index("thay"), "length": len("thay đổi")}
    telegram.new_message(OFFICIAL, text, extra={"entities": [bold]})
    sent = await telegram.wait_sent(OFFICIAL, 4)
    # The preview: the official's formatting is kept, the rest escaped.
    assert sent[2]["html"] == "Lịch tiếp công dân <b>thay đổi</b> &amp; &lt;nghỉ lễ&gt;"
    audience = sent[3]
    assert "(18)" in audience["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert f"{commune} (15)" in [
        row[0]["text"] for row in audience["reply_markup"]["inline_keyboard"]
    ]
    telegram.press(audience, "bc:aud:0")
    sent = await telegram.wait_sent(OFFICIAL, 5)
    assert "15" in sent[4]["text"]
    telegram.press(sent[4], "bc:send")
    await telegram.wait_for(
        lambda: any("đã gửi xong" in m["text"] for m in telegram.sent(OFFICIAL)), timeout=20
    )
    final = telegram.sent(OFFICIAL)[-1]["text"]
    assert "Đã gửi: 15" in final
    for chat_id in [*range(9000, 9010), *range(9100, 9105)]:
        assert [m["text"] for m in telegram.sent(chat_id)] == [text]
    for chat_id in range(9200, 9203):
        assert not telegram.sent(chat_id)
    # Pressing the old confirmation again does nothing.
    telegram.press(sent[4], "bc:send")
    await telegram.wait_for(lambda: len(telegram.calls_of("answerCallbackQuery")) >= 3)
    with session_scope() as session:
        assert len(session.scalars(select(Broadcast)).all()) == 1


async def test_schedule_then_cancel_or_send_when_due(bot, telegram):
    store.add_official(OFFICIAL, "admin", "")
    add_subscribers([9301, 9302])
    telegram.new_message(OFFICIAL, "/thongbao Họp dân tối thứ Sáu")
    sent = await telegram.wait_sent(OFFICIAL, 3)
    telegram.press(sent[2], "bc:aud:*")
    sent = await telegram.wait_sent(OFFICIAL, 4)
    telegram.press(sent[3], "bc:later")
    await telegram.wait_sent(OFFICIAL, 5)
    telegram.new_message(OFFICIAL, "25:99 hôm nay")
    sent = await telegram.wait_sent(OFFICIAL, 6)
    assert "08:00 15/12/2026" in sent[5]["text"]
    telegram.new_message(OFFICIAL, "08:00 01/01/2099")
    sent = await telegram.wait_sent(OFFICIAL, 7)
    assert "01/01/2099" in sent[6]["text"]
    with session_scope() as session:
        row = session.scalars(select(Broadcast)).one()
        assert row.status == "scheduled"
        broadcast_id = row.id
    # Not due yet: nothing starts.
    assert await bot.app.bot_data["broadcasts"].start_due() == []
    with session_scope() as session:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(scheduled_at=utcnow() - timedelta(minutes=1))
        )
    assert await bot.app.bot_data["broadcasts"].start_due() == [broadcast_id]
    await bot.app.bot_data["broadcasts"].tasks[broadcast_id]
    assert [m["text"] for m in telegram.sent(9301)] == ["Họp dân tối thứ Sáu"]
    # A second scheduled one is cancelled before it is due.
    other = bc.create_broadcast(
        "x", author_id=None, commune=None, scheduled_at=utcnow() + timedelta(days=1)
    )
    telegram.new_message(OFFICIAL, f"/huythongbao {other}")
    telegram.new_message(OFFICIAL, f"/huythongbao {broadcast_id}")
    telegram.new_message(OFFICIAL, "/huythongbao " + "9" * 4000)
    expected = [
        f"Đã hủy thông báo #{other}",
        f"#{broadcast_id} không ở trạng thái hẹn giờ",
        "Cách dùng: /huythongbao",
    ]

    def all_answered():
        texts = [m["text"] for m in telegram.sent(OFFICIAL)]
        return all(any(e in t for t in texts) for e in expected)

    await telegram.wait_for(all_answered)
    assert bc.get_broadcast(other).status == "cancelled"


async def test_compose_can_be_cancelled(bot, telegram):
    store.add_official(OFFICIAL, "official", "")
    telegram.new_message(OFFICIAL, "/thongbao")
    await telegram.wait_sent(OFFICIAL)
    telegram.new_message(OFFICIAL, "/huy")
    sent = await telegram.wait_sent(OFFICIAL, 2)
    assert "Đã hủy" in sent[1]["text"]
    telegram.new_message(OFFICIAL, "câu hỏi thường")  # goes to the assistant again
    sent = await telegram.wait_sent(OFFICIAL, 3)
    assert sent[2]["text"] == "Bạn hỏi: câu hỏi thường"


def test_bot_command_reports_configuration_errors_clearly(monkeypatch, database):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = CliRunner()
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = runner.invoke(main, ["bot"])
    assert result.exit_code == 1 and "TELEGRAM_BOT_TOKEN" in result.output
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{port}/bot")
    result = runner.invoke(main, ["bot"])
    assert result.exit_code == 1 and "Không kết nối được Bot API" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    result = runner.invoke(main, ["bot"])
    assert result.exit_code == 1 and "WEBHOOK_SECRET" in result.output


async def test_long_arguments_to_officials_commands(bot, telegram):
    store.add_official(OFFICIAL, "official", "")
    telegram.new_message(OFFICIAL, "/thongbao " + "a" * 4000)
    sent = await telegram.wait_sent(OFFICIAL)
    assert "quá dài" in sent[0]["text"]
    telegram.new_message(OFFICIAL, "/thongke " + "9" * 4000)
    sent = await telegram.wait_sent(OFFICIAL, 2)
    assert "chưa hiểu kỳ báo cáo" in sent[1]["text"]
