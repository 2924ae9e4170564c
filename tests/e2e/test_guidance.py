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


@pytest.mark.parametrize(
    ("question", "online"),
    [
        ("làm giấy khai sinh cần gì", "nộp online được không"),
        ("lam giay khai sinh can gi", "nop online duoc khong"),
    ],
)
def test_short_checklist_then_online_walkthrough_as_a_follow_up(assistant, user, question, online):
    me = user()
    answer = text_of(assistant.say(me, question))
    assert answer.startswith("Giấy tờ cần nộp — thủ tục «Đăng ký khai sinh»:\n1. Giấy chứng sinh")
    assert "Mang theo để xuất trình:\n- Giấy tờ tùy thân" in answer
    assert answer.index("Giấy chứng sinh") < answer.index("ủy quyền")  # the core paper first
    # the follow-up keeps the procedure and walks through the online submission
    answer = text_of(assistant.say(me, online))
    assert answer.startswith("Nộp trực tuyến thủ tục «Đăng ký khai sinh»")
    for step in ("1. Đăng nhập", "VNeID (mức độ 2)", "4. Điền tờ khai điện tử",
                 "Đính kèm ảnh chụp hoặc bản quét: Giấy chứng sinh", "Giữ bản chính",
                 "ghi lại mã hồ sơ", "Tiếp theo:"):  # fmt: skip
        assert step in answer, step
    assert "Nguồn: https://dichvucong.gov.vn/" in answer


@pytest.mark.parametrize(
    "question", ["đăng ký thường trú cần những giấy tờ gì", "dang ky thuong tru can giay to gi"]
)
def test_alternative_dossiers_are_asked_then_one_is_listed(assistant, user, question):
    me = user()
    reply = assistant.say(me, question)
    answer = text_of(reply)
    assert answer.startswith(
        "Thủ tục «Đăng ký thường trú»: giấy tờ cần nộp tùy trường hợp. Trường hợp của Bạn là:\n1. "
    )
    assert "Cần thêm giấy tờ" not in answer and len(answer) <= FIRST_REPLY_CHARS
    assert "Mã thủ tục: 1.004222 · Nguồn: https://" in answer
    renting = next(
        b["title"]
        for m in reply
        for b in m.get("buttons") or []
        if "thuê, mượn, ở nhờ" in b["title"]
    )
    answer = text_of(assistant.say(me, tap(reply, renting)))
    assert "trường hợp chỗ ở hợp pháp do thuê, mượn, ở nhờ, cần nộp:\n1. " in answer
    assert "Nguyên văn: Hợp đồng, văn bản về việc cho thuê, cho mượn, cho ở nhờ" in answer
    # the questions that decide the papers are one tap away too
    reply = assistant.say(me, tap(reply, "Giấy tờ theo trường hợp của tôi"))
    assert "Trường hợp của Bạn là:" in text_of(reply)
    assert "Trường hợp khác" in [b["title"] for m in reply for b in m.get("buttons") or []]


@pytest.mark.parametrize(
    "question", ["đăng ký hộ kinh doanh cần gì", "dang ky ho kinh doanh can gi"]
)
def test_the_application_comes_before_the_authorisation_cases(assistant, user, question):
    reply = assistant.say(user(), question)
    answer = text_of(reply)
    assert answer.startswith(
        "Giấy tờ cần nộp — thủ tục «Đăng ký thành lập hộ kinh doanh»:\n"
        "1. Giấy đề nghị đăng ký hộ kinh doanh"
    )
    assert "nếu nhờ người khác nộp thay (ủy quyền)" in answer and "(còn nữa" not in answer
    assert "Nếu nhờ người khác nộp thay (ủy quyền)" in [
        b["title"] for m in reply for b in m.get("buttons") or []
    ]


@pytest.mark.parametrize(
    "question",
    ["chứng thực bản sao nộp online được không", "chung thuc ban sao nop online duoc khong"],
)
def test_not_online_says_so_and_where_to_go(assistant, user, question):
    answer = text_of(assistant.say(user(), question))
    assert answer.startswith("Nộp trực tuyến thủ tục «Chứng thực bản sao từ bản chính")
    assert "chưa nộp trực tuyến được" in answer and "Nơi nộp:" in answer
    assert "Tiếp theo:" in answer and "Các bước:" not in answer
