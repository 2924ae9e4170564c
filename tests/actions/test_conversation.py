"""Bare answers, fallback, restart, dossier prompts and the locality-based answers."""

from __future__ import annotations

from typing import Any

import pytest

from actions.conversation import (
    ActionAffirm,
    ActionDefaultFallback,
    ActionFallback,
    ActionGiveFeedback,
    ActionInform,
    ActionOutOfScope,
    ActionRequestHuman,
    ActionRestart,
    ActionSubscribeNotifications,
    ActionUnsubscribeNotifications,
)
from actions.dossiers import ActionCheckDossierStatus, phone_last4_in
from trolydvc.locality import load_locality

KHAI_SINH = "1.001193"


def ent(value: str, name: str = "procedure") -> list[dict[str, Any]]:
    return [{"entity": name, "value": value, "start": 0, "end": len(value)}]


async def test_inform_completes_the_pending_question(run_action):
    turn = await run_action(
        ActionInform(), "xác nhận tình trạng hôn nhân", "inform", ent("1.004873"),
        slots={"pending": "procedure:time"},
    )  # fmt: skip
    assert turn.text.startswith(
        "Thời hạn giải quyết thủ tục «Cấp Giấy xác nhận tình trạng hôn nhân»"
    )
    assert turn.slot("procedure") == "1.004873"
    assert turn.slot("pending") is None


async def test_inform_button_payload_without_text(run_action):
    turn = await run_action(
        ActionInform(), '/inform{"procedure": "1.001193"}', "inform", ent(KHAI_SINH),
        slots={"pending": "procedure:fee"},
    )  # fmt: skip
    assert "Lệ phí thủ tục «Đăng ký khai sinh»" in turn.text


async def test_inform_alone_gives_an_overview_with_topic_buttons(run_action):
    turn = await run_action(ActionInform(), "khai sinh", "inform", ent(KHAI_SINH))
    assert "«Đăng ký khai sinh»" in turn.text and "Bạn muốn biết thông tin nào" in turn.text
    assert len(turn.buttons) == 6
    assert turn.slot("procedure") == KHAI_SINH


@pytest.mark.parametrize(
    "text", ["thế còn đăng ký khai sinh thì sao", "còn khai sinh?", "the con khai sinh thi sao"]
)
async def test_what_about_another_procedure_asks_the_last_question_again(run_action, text):
    turn = await run_action(
        ActionInform(), text, "inform", ent(KHAI_SINH),
        slots={"procedure": "1.000894", "topic": "fee"},
    )  # fmt: skip
    assert turn.text.startswith("Lệ phí thủ tục «Đăng ký khai sinh»")
    assert turn.slot("procedure") == KHAI_SINH and turn.slot("topic") == "fee"


async def test_a_name_alone_after_an_answer_still_gets_the_overview(run_action):
    turn = await run_action(
        ActionInform(), "khai sinh", "inform", ent(KHAI_SINH),
        slots={"procedure": "1.000894", "topic": "fee"},
    )  # fmt: skip
    assert "Bạn muốn biết thông tin nào" in turn.text and turn.slot("topic") == "overview"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Bạn chưa nhập nội dung"),
        ("/foo", "Tôi không có lệnh «/foo»"),
        ("x" * 10_000, "khá dài"),
        ("😀😀😀", "chưa hiểu"),
        ("Привет 你好 hello", "chưa hiểu"),
    ],
)
async def test_fallback_says_what_the_bot_can_do(run_action, text, expected):
    turn = await run_action(ActionFallback(), text, "nlu_fallback")
    assert expected in turn.text
    assert [b["title"] for b in turn.buttons][:2] == ["Hỏi về một thủ tục", "Tra cứu hồ sơ đã nộp"]


async def test_out_of_scope_and_default_fallback(run_action):
    turn = await run_action(ActionOutOfScope(), "hôm nay trời có mưa không", "out_of_scope")
    assert "ngoài phạm vi" in turn.text and turn.buttons
    turn = await run_action(ActionDefaultFallback(), "???", "nlu_fallback")
    assert (
        turn.events == [{"event": "rewind", "timestamp": None}]
        or turn.events[0]["event"] == "rewind"
    )


@pytest.mark.parametrize(
    ("text", "code"), [("dang ky xe may", "1.013067"), ("đổi bằng lái xe", "3.000348")]
)
async def test_off_topic_that_clearly_names_a_procedure_is_offered_it(run_action, text, code):
    # The intent model may call a short procedure name off-topic; the catalog knows better.
    turn = await run_action(ActionOutOfScope(), text, "out_of_scope")
    assert turn.text.startswith("Có phải Bạn muốn hỏi về thủ tục «")
    assert turn.buttons
    assert all(f'"procedure": "{code}"' in b["payload"] for b in turn.buttons)


async def test_a_complaint_is_not_offered_procedures_that_merely_say_ho_so(run_action):
    turn = await run_action(ActionFallback(), "huhu hồ sơ trễ hẹn 3 lần rồi", "nlu_fallback")
    assert "Có phải Bạn muốn hỏi" not in turn.text
    assert all(not b["payload"].startswith("/inform") for b in turn.buttons)


async def test_an_administrative_request_the_catalog_lacks_is_not_called_off_topic(run_action):
    # The national data this catalog is built from has no social-protection procedures.
    turn = await run_action(ActionOutOfScope(), "trợ cấp người cao tuổi", "out_of_scope")
    assert "ngoài phạm vi" not in turn.text
    assert turn.text.startswith("Tôi chưa tìm thấy thủ tục này trong danh mục")
    assert load_locality().portals.national in turn.text


@pytest.mark.parametrize("text", ["ke chuyen ma di", "mua ao o dau re", "vay tiền online"])
async def test_off_topic_with_a_weak_catalog_match_stays_off_topic(run_action, text):
    turn = await run_action(ActionOutOfScope(), text, "out_of_scope")
    assert "ngoài phạm vi" in turn.text


async def test_restart_confirms_and_resets(run_action):
    turn = await run_action(
        ActionRestart(), "bắt đầu lại", "restart", slots={"procedure": KHAI_SINH}
    )
    assert "bắt đầu lại" in turn.text
    assert turn.events[-1]["event"] == "restart"


async def test_affirm_offers_topics_of_the_procedure_in_context(run_action):
    turn = await run_action(ActionAffirm(), "vâng", "affirm", slots={"procedure": KHAI_SINH})
    assert "Đăng ký khai sinh" in turn.text and len(turn.buttons) == 6


async def test_dossier_status_without_code_asks_for_it(run_action):
    turn = await run_action(ActionCheckDossierStatus(), "tra cứu hồ sơ", "check_dossier_status")
    assert "mã hồ sơ" in turn.text and "000.00.20.H50-221107-0001" in turn.text
    assert turn.slot("pending") == "dossier_code"


def test_phone_last4_is_not_taken_from_the_code():
    assert phone_last4_in("000.00.20.H50-221107-0001") is None
    assert phone_last4_in("số cuối 0912") == "0912"
    assert phone_last4_in("1234") == "1234"
    assert phone_last4_in("0912345678") is None
    assert phone_last4_in("000.00.20.H50-221107-0001 sđt đuôi 5678") == "5678"


async def test_request_human_and_feedback_answer_from_locality(run_action):
    loc = load_locality()
    turn = await run_action(ActionRequestHuman(), "cho tôi gặp cán bộ", "request_human")
    assert loc.hotline is not None and loc.hotline.phone in turn.text
    turn = await run_action(ActionGiveFeedback(), "tôi muốn phản ánh", "give_feedback")
    assert loc.portals.feedback in turn.text


async def test_notifications_explain_how_and_list_communes(run_action):
    turn = await run_action(
        ActionSubscribeNotifications(), "đăng ký nhận tin", "subscribe_notifications"
    )
    assert "/dangky" in turn.text
    for name in load_locality().commune_names:
        assert name in turn.text
    turn = await run_action(
        ActionUnsubscribeNotifications(), "hủy nhận tin", "unsubscribe_notifications"
    )
    assert "/huydangky" in turn.text


async def test_telegram_users_get_channel_actions(run_action):
    """On Telegram the bot itself opens the handoff and stores subscriptions (bot/chat.py)."""
    turn = await run_action(
        ActionRequestHuman(), "gặp cán bộ", "request_human", sender_id="tg:12345"
    )
    assert {"channel_action": "handoff"} in [m.get("custom") for m in turn.messages]
    assert "chuyển câu hỏi" in turn.text
    turn = await run_action(
        ActionSubscribeNotifications(), "nhận thông báo xã Hòa An", "subscribe_notifications",
        sender_id="tg:12345",
    )  # fmt: skip
    customs = [m.get("custom") for m in turn.messages if m.get("custom")]
    assert customs == [{"channel_action": "subscribe", "commune": "Xã Hòa An"}]
    turn = await run_action(
        ActionUnsubscribeNotifications(), "hủy nhận tin", "unsubscribe_notifications",
        sender_id="tg:12345",
    )  # fmt: skip
    assert [m.get("custom") for m in turn.messages] == [{"channel_action": "unsubscribe"}]


async def test_the_widget_gets_the_handoff_with_the_contacts_as_fallback(run_action):
    """The web app opens a case at the dashboard's desk (trolydvc/web/handoff.py); the contacts
    are what it says when no official can read the desk."""
    turn = await run_action(
        ActionRequestHuman(), "cho tôi gặp cán bộ", "request_human", sender_id="web:abc123"
    )
    [custom] = [m["custom"] for m in turn.messages if m.get("custom")]
    assert custom["channel_action"] == "handoff"
    hotline = load_locality().hotline
    assert hotline is not None and hotline.phone in custom["fallback"]
    assert turn.text == ""  # the web app says what happened


SO_DO = "1.012783"  # Cấp đổi Giấy chứng nhận quyền sử dụng đất … (sổ đỏ)


@pytest.mark.parametrize(
    "text",
    [
        "làm sao để nộp hồ sơ cấp đổi sổ đỏ qua mạng",
        "lam sao de nop ho so cap doi so do qua mang",
    ],
)
async def test_a_clear_procedure_and_question_are_answered_directly(run_action, text):
    # The intent model missed the question, but both the procedure and the topic are clear:
    # answer it (naming the procedure) instead of asking to pick the topic again.
    turn = await run_action(ActionFallback(), text, "nlu_fallback")
    assert turn.text.startswith("Nộp trực tuyến thủ tục «Cấp đổi Giấy chứng nhận")
    assert "1. " in turn.text and turn.slot("procedure") == SO_DO
    assert turn.slot("topic") == "online"
    # a wrong guess is one tap away: the runner-up, asked the same question
    fixes = [b for b in turn.buttons if b["title"].startswith("Không, ý tôi là: ")]
    assert fixes and all(b["payload"].startswith("/ask_online_submission") for b in fixes)


async def test_an_uncertain_match_keeps_the_question_for_the_confirmation(run_action):
    turn = await run_action(ActionFallback(), "phí đăng ký giấy phép bao nhiêu", "nlu_fallback")
    if turn.slot("pending") is None:  # the catalog found it clearly: answered directly
        assert turn.slot("topic") == "fee"
        return
    assert turn.slot("pending") == "procedure:fee" and "lệ phí của" in turn.text
    choice = turn.buttons[0]["payload"]
    code = choice[choice.index('"procedure": "') + 14 :].split('"')[0]
    turn = await run_action(
        ActionInform(), "", "inform", [{"entity": "procedure", "value": code}],
        slots={"pending": "procedure:fee"},
    )  # fmt: skip
    assert turn.text.startswith("Lệ phí thủ tục «") and turn.slot("topic") == "fee"


async def test_a_bare_name_with_its_question_is_answered(run_action):
    turn = await run_action(ActionInform(), "cấp đổi sổ đỏ qua mạng", "inform")
    assert turn.slot("topic") == "online" and "Bạn muốn biết thông tin nào" not in turn.text
    # an uncertain name: the question is kept for the choice
    turn = await run_action(ActionInform(), "khai sinh le phi", "inform")
    assert turn.slot("pending") == "procedure:fee" and "lệ phí của thủ tục nào" in turn.text
