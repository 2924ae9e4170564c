"""Guidance through the real Rasa + action server: the checklist and its questions, times with
their unit, the online walkthrough, direct answers; with and without diacritics."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.rasa

FIRST_REPLY_CHARS = 1200


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def tap(messages: list[dict[str, Any]], title: str) -> str:
    """The payload of the button titled ``title`` (fails when there is none)."""
    titles = []
    for message in messages:
        for button in message.get("buttons") or []:
            if button["title"] == title:
                return button["payload"]
            titles.append(button["title"])
    raise AssertionError(f"no button {title!r} among {titles}")


@pytest.mark.parametrize(
    "question",
    ["làm giấy khai sinh cho con cần những gì", "lam giay khai sinh cho con can nhung gi"],
)
def test_checklist_then_personal_checklist_then_follow_ups(assistant, user, question):
    me = user()
    reply = assistant.say(me, question)
    answer = text_of(reply)
    assert answer.startswith("Giấy tờ cần nộp — thủ tục «Đăng ký khai sinh»:\n1. Giấy chứng sinh")
    assert len(answer) <= FIRST_REPLY_CHARS
    assert "bỏ rơi" in answer and "Mã thủ tục: 1.001193" in answer
    # a special case opens with its official wording
    opened = text_of(assistant.say(me, tap(reply, "Nếu trẻ em bị bỏ rơi")))
    assert "Nguyên văn: Trường hợp trẻ em bị bỏ rơi" in opened
    # the questions that decide the papers, answered with buttons
    reply = assistant.say(me, tap(reply, "Giấy tờ theo trường hợp của tôi"))
    assert "hình thức nào" in text_of(reply)
    reply = assistant.say(me, tap(reply, "Nộp trực tuyến"))
    assert "nhờ người khác nộp thay" in text_of(reply)
    reply = assistant.say(me, tap(reply, "Tôi tự nộp"))
    assert "trường hợp nào dưới đây" in text_of(reply)
    answer = text_of(assistant.say(me, tap(reply, "Không thuộc trường hợp nào")))
    assert answer.startswith("Giấy tờ của Bạn — thủ tục «Đăng ký khai sinh» (nộp trực tuyến;")
    assert "Giấy chứng sinh" in answer and "Văn bản ủy quyền" not in answer
    # follow-ups keep working
    answer = text_of(assistant.say(me, "còn lệ phí?"))
    assert answer.startswith("Lệ phí thủ tục «Đăng ký khai sinh»")
    answer = text_of(assistant.say(me, "thế còn kết hôn thì sao?"))
    assert answer.startswith("Lệ phí thủ tục «Đăng ký kết hôn»")


@pytest.mark.parametrize(
    "question",
    ["xác nhận tình trạng hôn nhân mất mấy ngày", "xac nhan tinh trang hon nhan mat may ngay"],
)
def test_a_time_with_the_unit_its_official_text_states(assistant, user, question):
    answer = text_of(assistant.say(user(), question))
    assert ": 3 ngày làm việc" in answer
    assert '"Trong thời hạn 03 ngày làm việc kể từ ngày tiếp nhận hồ sơ' in answer
    assert "không ghi đơn vị" not in answer


@pytest.mark.parametrize(
    "question", ["đăng ký khai sinh nộp online thế nào", "dang ky khai sinh nop online the nao"]
)
def test_online_walkthrough(assistant, user, question):
    answer = text_of(assistant.say(user(), question))
    assert answer.startswith("Nộp trực tuyến thủ tục «Đăng ký khai sinh»")
    for step in ("Các bước:\n1. Đăng nhập", "VNeID (mức độ 2)", "2. Mở trang của thủ tục:",
                 "Đính kèm ảnh chụp", "Giữ bản chính", "mã hồ sơ", "Tiếp theo:"):  # fmt: skip
        assert step in answer, step


@pytest.mark.parametrize(
    "question",
    [
        "làm sao để nộp hồ sơ cấp đổi sổ đỏ qua mạng",
        "lam sao de nop ho so cap doi so do qua mang",
    ],
)
def test_a_clear_question_is_answered_directly(assistant, user, question):
    answer = text_of(assistant.say(user(), question))
    assert answer.startswith("Nộp trực tuyến thủ tục «Cấp đổi Giấy chứng nhận")
    assert "Có phải Bạn muốn hỏi" not in answer and "Các bước:" in answer
