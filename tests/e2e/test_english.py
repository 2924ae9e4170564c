"""English in, English frame out (issue #17 item 5), through the real Rasa and action server:
English labels around the official Vietnamese content, kept in follow-ups."""

from __future__ import annotations

from typing import Any

import pytest

from trolydvc.catalog import load_catalog

pytestmark = pytest.mark.rasa

OFFICIAL_LINE = "The official text (names of the procedure, papers and agencies, official wording)"
# the frame's own labels (a checklist's case names are trolydvc/catalog/guidance.py's Vietnamese
# wording cut from the official text, shown as they are)
VIETNAMESE_LABELS = (
    "Mã thủ tục",
    "Nguồn:",
    "Cấp thực hiện:",
    "Cơ quan thực hiện:",
    "Giấy tờ cần nộp",
)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def titles(messages: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for m in messages for b in (m.get("buttons") or [])]


def assert_english_frame(text: str, code: str) -> None:
    assert f"Procedure code: {code} · Source: https://dichvucong.gov.vn/" in text
    assert OFFICIAL_LINE in text
    for label in VIETNAMESE_LABELS:
        assert label not in text, label


def test_the_fee_for_marriage_registration(assistant, user):
    replies = assistant.say(user(), "How much is the fee for marriage registration?")
    text = text_of(replies)
    assert text.startswith("Fee — procedure «Đăng ký kết hôn»:")  # the official name
    assert "Free of charge" in text
    assert "Note: Miễn lệ phí." in text  # the official note, as written
    assert "Level: Cấp xã · Agency: Ủy ban Nhân dân xã, phường, thị trấn" in text
    assert_english_frame(text, "1.000894")
    assert {"Documents to prepare", "Processing time", "Where to submit"} <= set(titles(replies))


def test_a_lost_id_card(assistant, user):
    # "how do I get a new one": the steps of «Cấp lại thẻ căn cước», as the catalog writes them
    text = text_of(assistant.say(user(), "I lost my ID card, how do I get a new one?"))
    assert text.startswith("Steps — procedure «Cấp lại thẻ căn cước»:\n")
    steps = [" ".join(step.split()) for step in load_catalog().get("1.014064").steps]
    assert next(step for step in steps if len(step) >= 40)[:60] in text
    assert_english_frame(text, "1.014064")


def test_follow_ups_keep_the_english_frame_until_vietnamese_is_written(assistant, user):
    me = user()
    assistant.say(me, "How much is the fee for marriage registration?")
    text = text_of(assistant.say(me, "and how long does it take?"))
    assert text.startswith("Processing time — procedure «Đăng ký kết hôn»:")
    assert_english_frame(text, "1.000894")
    text = text_of(assistant.say(me, '/ask_where_to_submit{"procedure": "1.000894"}'))
    assert text.startswith("Where to submit — procedure «Đăng ký kết hôn»:")
    assert_english_frame(text, "1.000894")
    text = text_of(assistant.say(me, "còn lệ phí thì sao?"))
    assert text.startswith("Lệ phí thủ tục «Đăng ký kết hôn»:")
    assert "Mã thủ tục: 1.000894" in text and OFFICIAL_LINE not in text


def test_the_question_decides_over_the_telegram_setting(assistant, user):
    replies = assistant.say(
        user(),
        "What documents do I need to register a birth?",
        metadata={"channel": "telegram", "language": "vi"},
    )
    text = text_of(replies)
    assert "procedure «Đăng ký khai sinh»" in text and "Giấy chứng sinh" in text
    assert_english_frame(text, "1.001193")


@pytest.mark.parametrize(
    ("setting", "start"), [("en", "Fee — procedure"), ("vi", "Lệ phí thủ tục")]
)
def test_the_setting_decides_for_a_button_at_the_start(assistant, user, setting, start):
    replies = assistant.say(
        user(),
        '/ask_fee{"procedure": "1.000894"}',
        metadata={"channel": "telegram", "language": setting},
    )
    assert text_of(replies).startswith(start)


def test_a_question_without_a_procedure_is_asked_back_in_english(assistant, user):
    replies = assistant.say(user(), "How long does it take?")
    text = text_of(replies)
    assert text.startswith("For which procedure do you want the processing time?")
    assert titles(replies)  # procedures, by their official names


# --- small talk, dossier lookup and statistics in an English conversation ------------------------
MENU = ["Ask about a procedure", "Check a submitted dossier", "Processing statistics", "Talk to an official"]  # fmt: skip


def test_small_talk_in_english(assistant, user):
    me = user()
    replies = assistant.say(me, "hello there")
    assert text_of(replies).startswith("Hello! I am the Public Service Assistant.")
    assert titles(replies) == MENU
    replies = assistant.say(me, "what can you do")
    text = text_of(replies)
    assert text.startswith("I can help you with:\n1. The documents to prepare for a procedure")
    assert "\n7. Subscribing to announcements" in text and titles(replies) == MENU
    # one word has no language of its own (trolydvc/message_language.py): the conversation's
    assert text_of(assistant.say(me, "thanks")).startswith("You are welcome.")
    assert text_of(assistant.say(me, "no")).startswith("All right.")
    assert text_of(assistant.say(me, "bye")).startswith("Thank you for using the Public Service")
    # Vietnamese written again: the Vietnamese answer, as before
    assert text_of(assistant.say(me, "cảm ơn bạn")).startswith("Không có gì ạ.")


@pytest.mark.parametrize(
    ("metadata", "start"),
    [
        ({"channel": "telegram", "language": "en"}, "Hello! I am the Public Service Assistant."),
        ({"channel": "telegram", "language": "vi"}, "Xin chào! Tôi là Trợ lý Dịch vụ công."),
        # no setting: a lone "hello" is what Vietnamese users write too ("hello ad")
        (None, "Xin chào! Tôi là Trợ lý Dịch vụ công."),
    ],
)
def test_a_lone_hello_is_answered_in_the_users_setting(assistant, user, metadata, start):
    assert text_of(assistant.say(user(), "hello", metadata=metadata)).startswith(start)


def test_a_dossier_lookup_in_english(assistant, user):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    me = user()
    code = SHOWCASE[1]  # result ready, two days late
    basic = text_of(assistant.say(me, f"check the status of dossier {code}"))
    assert basic.startswith(f"Dossier {code}\n• Received on: 15/04/2025\n• Due date: 16/04/2025\n")
    assert "• Status: Result ready\n  Result ready on 18/04/2025, 2 days late." in basic
    assert "send me the last 4 digits of the phone number registered with the dossier" in basic
    assert "Procedure" not in basic and "Applicant" not in basic  # nothing before verification
    verified = assistant.say(me, SHOWCASE_PHONE_LAST4)
    text = text_of(verified)
    assert text.startswith(f"Dossier {code}\n• Procedure: ") and "(code 1.000894)" in text
    assert "• Applicant: " in text and "• Submitted: In person" in text
    assert "• Processing history:" in text and "What to do: Please collect the result at" in text
    for label in ("Hồ sơ ", "Trạng thái", "Việc cần làm", "Người nộp", "Bạn "):
        assert label not in basic and label not in text, label


def test_statistics_in_english(assistant, user):
    text = text_of(assistant.say(user(), "What are the dossier processing statistics this year?"))
    assert text.startswith("Administrative procedure figures, from the start of 20"), text
    assert " dossiers received (" in text and " on time (" in text and " in progress." in text
    assert "tiếp nhận" not in text and "hồ sơ" not in text
