"""The conversation log through the real Rasa + action server pair: every user message becomes one
row in the project database (written by Rasa's event broker, trolydvc.conversation_log), with
the text only of a message not understood, its digits masked."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from trolydvc.conversation_log import ANSWERED, FALLBACK, OUT_OF_SCOPE, sender_hash, sender_key
from trolydvc.db import session_scope
from trolydvc.db.log_models import ConversationLogEntry
from trolydvc.tracking.privacy import phone_key


def logged(sender: str, count: int, timeout: float = 15.0) -> list[ConversationLogEntry]:
    """The sender's rows once there are ``count`` of them (a background thread writes them)."""
    digest = sender_hash(bytes.fromhex(sender_key(phone_key())), sender)
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            rows = list(
                session.scalars(
                    select(ConversationLogEntry)
                    .where(ConversationLogEntry.sender_hash == digest)
                    .order_by(ConversationLogEntry.id)
                )
            )
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def say(assistant: Any, sender: str, text: str, **metadata: str) -> list[dict[str, Any]]:
    response = assistant.http.post(
        f"{assistant.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": metadata},
        headers=assistant.rest_headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_message_is_logged_with_its_outcome(assistant: Any, user: Any) -> None:
    sender = user()
    say(assistant, sender, "làm giấy khai sinh cần giấy tờ gì", channel="web")
    say(assistant, sender, "còn lệ phí?", channel="web")
    say(assistant, sender, "xin chào", channel="web")  # a domain response: no action server call
    say(assistant, sender, "zxqv blorp wug 0912 345 678", channel="web")
    replies = say(assistant, sender, "còn gì nữa không", channel="web")  # below the threshold
    assert all(set(r) <= {"recipient_id", "text", "buttons"} for r in replies)  # no verdict sent
    say(assistant, sender, "abc", channel="web")  # "inform", but action_inform finds nothing
    say(assistant, sender, "/request_human", channel="web")
    rows = logged(sender, 7)
    assert len(rows) == 7, [(r.intent, r.outcome) for r in rows]
    documents, fee, hello, nonsense, vague, bare, human = rows
    assert (documents.intent, documents.outcome) == ("ask_required_documents", ANSWERED)
    assert documents.procedure == "1.001193" and documents.topic == "documents"
    assert documents.conversation_start and not fee.conversation_start
    assert (fee.intent, fee.procedure, fee.topic) == ("ask_fee", "1.001193", "fee")
    assert hello.intent == "greet" and hello.outcome == ANSWERED and hello.procedure is None
    assert all(r.text is None for r in (documents, fee, hello, human))
    assert all(r.channel == "web" for r in rows)
    assert nonsense.outcome == OUT_OF_SCOPE and nonsense.text == "zxqv blorp wug 0000 000 000"
    assert (vague.intent, vague.outcome, vague.text) == (
        "nlu_fallback",
        FALLBACK,
        "còn gì nữa không",
    )
    assert vague.guess and vague.guess != "nlu_fallback"
    # the action's "did not understand" reply makes it a fallback whatever the intent
    assert bare.intent != "nlu_fallback" and (bare.outcome, bare.text) == (FALLBACK, "abc")
    assert human.human and human.intent == "request_human"
    assert [r.human for r in rows].count(True) == 1
    assert all(0.0 <= (r.confidence or 0.0) <= 1.0 for r in rows)
    assert all(sender not in (r.sender_hash, r.text) for r in rows)
    assert "Conversation log" not in assistant.logs()  # no write failed


def test_starting_again_begins_a_new_conversation(assistant: Any, user: Any) -> None:
    sender = user()
    assistant.say(sender, "lệ phí đăng ký kết hôn")
    assistant.say(sender, "bắt đầu lại")
    assistant.say(sender, "thủ tục cấp hộ chiếu ở đâu")
    rows = logged(sender, 3)
    assert [r.conversation_start for r in rows] == [True, False, True]
    assert rows[1].intent == "restart" and rows[0].channel == "other"
