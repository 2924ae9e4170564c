"""The bot's logging filters: no token in any log line, one clear line for an unreachable Bot API.

python-telegram-bot talks to `<base url><token>/<method>`, so httpx logs the token in every request
line (`HTTP Request: POST https://api.telegram.org/bot<token>/getUpdates`), and an exception about
a request can carry the URL too. `install_log_filters(token)` puts a filter on the root logger's
handlers, which every record of httpx, httpcore, telegram and the bot passes through (a filter on
a logger would miss the records of its child loggers), and replaces the token in the message, the
exception text and the stack text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

REDACTED = "<token>"


class RedactSecrets(logging.Filter):
    """Replaces each secret (as written and URL-encoded) in a record by REDACTED."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
        # longest first, so that no shorter form leaves part of a longer one behind
        self.secrets = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a malformed record: the handler reports it as usual
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted here once, redacted; formatters reuse exc_text instead of formatting again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class NoNetworkTracebacks(logging.Filter):
    """python-telegram-bot logs a full traceback when the Bot API cannot be reached at start;
    the CLI reports that in one clear line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Network Retry Loop" in record.getMessage():
            record.exc_info = None
            record.exc_text = None
        return True


def install_log_filters(token: str) -> Callable[[], None]:
    """Install the bot's filters (after logging is configured); returns a function removing them."""
    redactor = RedactSecrets([token])
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redactor)
    network = NoNetworkTracebacks()
    telegram_ext = logging.getLogger("telegram.ext")
    telegram_ext.addFilter(network)

    def remove() -> None:
        for handler in handlers:
            handler.removeFilter(redactor)
        telegram_ext.removeFilter(network)

    return remove
