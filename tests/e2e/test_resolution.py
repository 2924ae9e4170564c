"""Issue #17: never an unrelated procedure; every level of the export, local ones first."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.rasa


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.mark.parametrize(
    ("message", "unrelated"),
    [
        ("cần giấy tờ gì để xin giấy phép nhập khẩu hóa chất", "Đăng ký thường trú"),
        ("Thời hạn cấp giấy phép nhập khẩu hóa chất là bao lâu?", "Đăng ký thường trú"),
        ("hồ sơ xin cấp giấy phép kinh doanh xăng dầu", "thành lập hộ kinh doanh"),
    ],
)
def test_an_unrelated_procedure_is_never_the_answer(assistant, user, message, unrelated):
    answer = text_of(assistant.say(user(), message))
    assert "Mã thủ tục" not in answer
    assert unrelated not in answer
    assert "chưa tìm thấy thủ tục này" in answer or "thủ tục nào" in answer


def test_nhap_khau_for_a_household_is_residence(assistant, user):
    answer = text_of(assistant.say(user(), "nhập khẩu cho con vào hộ của bố cần giấy tờ gì"))
    assert "«Đăng ký thường trú»" in answer and "Mã thủ tục: 1.004222" in answer


def test_a_central_procedure_shows_its_level_and_agency(assistant, user):
    payload = '/ask_required_documents{"procedure": "1.003462"}'
    answer = text_of(assistant.say(user(), payload))
    assert "Mã thủ tục: 1.003462" in answer
    assert "Cấp thực hiện: Cấp bộ · Cơ quan thực hiện: Cục Chăn nuôi và Thú y" in answer


def test_the_provincial_procedure_comes_before_its_central_twin(assistant, user):
    answer = text_of(assistant.say(user(), "cấp thẻ tạm trú cho người nước ngoài cần giấy tờ gì"))
    assert "Mã thủ tục: 1.003460" in answer  # at Công an tỉnh, not 1.003358 at the Cục
    assert "Cấp thực hiện: Cấp tỉnh" in answer
