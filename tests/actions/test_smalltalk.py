"""Small talk (actions/smalltalk.py): the Vietnamese answers the domain's responses gave, the
same answers in English for an English conversation, the main menu under the greeting."""

from __future__ import annotations

import pytest

from actions.smalltalk import (
    ActionCapabilities,
    ActionDeny,
    ActionGoodbye,
    ActionGreet,
    ActionThank,
)

MENU_PAYLOADS = ["/ask_required_documents", "/check_dossier_status", "/ask_statistics", "/request_human"]  # fmt: skip
CAPABILITIES_VI = """Tôi có thể giúp Bạn:
1. Hồ sơ, giấy tờ cần chuẩn bị cho một thủ tục (ví dụ: "làm giấy khai sinh cần giấy tờ gì")
2. Lệ phí và thời hạn giải quyết
3. Nơi nộp hồ sơ, giờ làm việc, số điện thoại bộ phận một cửa
4. Các bước thực hiện và cách nộp trực tuyến
5. Tra cứu tình trạng hồ sơ đã nộp theo mã hồ sơ
6. Số liệu giải quyết hồ sơ của địa phương
7. Đăng ký nhận thông báo, gửi phản ánh, kiến nghị
Gõ "bắt đầu lại" bất cứ lúc nào để bắt đầu cuộc trò chuyện mới."""  # utter_capabilities, as it was


@pytest.mark.parametrize(
    ("action", "intent", "message", "vietnamese", "english"),
    [
        (ActionGreet(), "greet", "xin chào", "Xin chào! Tôi là Trợ lý Dịch vụ công. Tôi có thể giúp Bạn tra cứu hồ sơ cần chuẩn bị, lệ phí, thời hạn giải quyết, nơi nộp và cách nộp trực tuyến của các thủ tục hành chính, hoặc tra cứu tình trạng hồ sơ đã nộp. Bạn cần hỏi gì ạ?", "Hello! I am the Public Service Assistant. I can help you find the documents to prepare, the fee, the processing time, where to submit and how to apply online for administrative procedures, or check the status of a dossier you submitted. What would you like to ask?"),
        (ActionGoodbye(), "goodbye", "tạm biệt", "Cảm ơn Bạn đã sử dụng Trợ lý Dịch vụ công. Chúc Bạn một ngày tốt lành!", "Thank you for using the Public Service Assistant. Have a nice day!"),
        (ActionThank(), "thank", "cảm ơn", "Không có gì ạ. Nếu cần hỏi thêm về thủ tục nào, Bạn cứ nhắn cho tôi nhé.", "You are welcome. If you have more questions about a procedure, just send me a message."),
        (ActionCapabilities(), "bot_capabilities", "bạn làm được gì", CAPABILITIES_VI, "I can help you with:\n1. The documents to prepare for a procedure"),
        (ActionDeny(), "deny", "không", "Vâng ạ. Bạn cần hỏi thêm gì cứ nhắn cho tôi nhé.", "All right. If you need anything else, just send me a message."),
    ],
)  # fmt: skip
async def test_each_answer_in_the_conversations_language(
    run_action, action, intent, message, vietnamese, english
):
    turn = await run_action(action, message, intent)
    assert turn.text == vietnamese  # the text of the domain response it replaces
    assert turn.slot("language") == "vi"
    # a message with no language of its own ("ok", "thanks") in an English conversation
    turn = await run_action(action, "thanks", intent, slots={"language": "en"})
    assert turn.text.startswith(english) and "Bạn" not in turn.text
    assert not [e for e in turn.events if e.get("name") == "language"]  # already English
    menu = [b["payload"] for b in turn.buttons]
    assert menu == (MENU_PAYLOADS if intent in ("greet", "bot_capabilities") else [])
