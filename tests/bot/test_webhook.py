"""Webhook mode: registration with a secret token, updates accepted only with that token."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from bot.app import build_application, on_shutdown, on_startup, on_stop, webhook_options


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_round_trip(telegram, make_settings, database):
    port = _free_port()
    settings = make_settings(
        webhook_url="https://bot.example.org/hooks",
        webhook_secret="s3cret-Token_1",
        webhook_port=port,
    )
    options = webhook_options(settings)
    assert options["webhook_url"].startswith("https://bot.example.org/hooks/tg-")
    assert settings.token not in options["webhook_url"]
    app = build_application(settings)
    await app.initialize()
    await on_startup(app)
    await app.start()
    await app.updater.start_webhook(**options)
    try:
        assert telegram.webhook["url"] == options["webhook_url"]
        assert telegram.webhook["secret_token"] == "s3cret-Token_1"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 31337, "type": "private", "first_name": "Dân"},
                "from": {"id": 31337, "is_bot": False, "first_name": "Dân", "language_code": "vi"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        url = f"http://127.0.0.1:{port}/{options['url_path']}"
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                url, content=json.dumps(update), headers={"Content-Type": "application/json"}
            )
            assert refused.status_code == 403
            wrong = await client.post(
                url,
                content=json.dumps(update),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "nope",
                },
            )
            assert wrong.status_code == 403
            accepted = await client.post(
                url,
                content=json.dumps(update),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1",
                },
            )
            assert accepted.status_code == 200
        sent = await telegram.wait_sent(31337)
        assert "Trợ lý Dịch vụ công" in sent[0]["text"]
        assert len(sent) == 1
    finally:
        await app.updater.stop()
        await on_stop(app)
        await app.stop()
        await app.shutdown()
        await on_shutdown(app)


@pytest.mark.parametrize(
    ("url", "secret"),
    [("https://bot.example.org", None), ("http://bot.example.org", "s")],
)
def test_webhook_settings_are_checked(url, secret, make_settings):
    with pytest.raises(ValueError):
        webhook_options(make_settings(webhook_url=url, webhook_secret=secret))
