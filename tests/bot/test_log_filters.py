"""The bot token never reaches the logs (httpx request lines, exceptions), issue #11 item 6."""

from __future__ import annotations

import logging

import httpx

from bot.log_filters import REDACTED, RedactSecrets, install_log_filters

CHAT = 424242


async def test_the_token_is_redacted_from_a_real_bot_s_logs(make_bot, telegram, rasa, caplog):
    caplog.set_level(logging.DEBUG)
    remove = install_log_filters(telegram.token)
    try:
        await make_bot()
        telegram.new_message(CHAT, "xin chào")
        await telegram.wait_sent(CHAT)
        # An exception whose text carries the request URL, as httpx writes it.
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{telegram.base_url}{telegram.token}/noSuchMethod")
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError:
            logging.getLogger("bot").exception("request failed")
    finally:
        remove()
    text = caplog.text
    # the requests were logged, with the token replaced
    assert f"/bot{REDACTED}/getUpdates" in text and f"/bot{REDACTED}/sendMessage" in text
    assert f"/bot{REDACTED}/noSuchMethod" in text and "HTTPStatusError" in text
    assert telegram.token not in text
    secret = telegram.token.split(":", 1)[1]
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_redaction_covers_encoded_forms_arguments_and_stack_text():
    token = "123:AB/C+D"
    redactor = RedactSecrets([token, ""])
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "GET %s and %s", ("/bot123:AB/C+D/x", "123%3AAB%2FC%2BD"),
        None, sinfo="at /bot123:AB/C+D/",
    )  # fmt: skip
    assert redactor.filter(record)
    assert record.getMessage() == f"GET /bot{REDACTED}/x and {REDACTED}"
    assert record.stack_info == f"at /bot{REDACTED}/"
    untouched = logging.LogRecord("bot", logging.INFO, __file__, 1, "n=%d", (3,), None)
    assert redactor.filter(untouched) and (untouched.msg, untouched.args) == ("n=%d", (3,))
