"""The Telegram bot in the cluster: webhook mode behind nginx, Telegram's secret token checked."""

from __future__ import annotations

import time

import pytest

from bot.app import webhook_path
from tests.cluster.conftest import WEBHOOK_SECRET

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


def update(update_id: int, chat_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Dân"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Dân", "language_code": "vi"},
            "text": text,
        },
    }


def test_bot_registered_its_webhook_with_the_secret(cluster):
    hook = cluster.telegram.webhook
    path = webhook_path(cluster.env["TELEGRAM_BOT_TOKEN"])
    assert hook["url"] == f"https://bot.example.org/{path}"
    assert hook["secret_token"] == WEBHOOK_SECRET


def test_bot_answers_through_nginx_and_refuses_updates_without_the_secret(cluster):
    url = f"{cluster.entry}/{webhook_path(cluster.env['TELEGRAM_BOT_TOKEN'])}"
    chat = 4242
    refused = cluster.http.post(url, json=update(1, chat, "thủ tục đăng ký khai sinh"))
    assert refused.status_code == 403
    wrong = cluster.http.post(
        url,
        json=update(2, chat, "thủ tục đăng ký khai sinh"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
    )
    assert wrong.status_code == 403
    accepted = cluster.http.post(
        url,
        json=update(3, chat, "thủ tục đăng ký khai sinh"),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert accepted.status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = [m.get("text", "") for m in cluster.telegram.sent(chat)]
        if any("Đăng ký khai sinh" in t for t in texts):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"no answer sent to the chat: {cluster.telegram.sent(chat)}")
    assert cluster.http.get(url).status_code == 403  # POST only at nginx
    # the bot's own port is not public: only its secret path is routed
    assert cluster.http.post(f"{cluster.entry}/tg-other", json={}).status_code == 404
