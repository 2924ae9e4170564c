"""Bot settings, read from the environment (see README: "Telegram bot")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from trolydvc.config import rasa_url

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_BASE_URL = "https://api.telegram.org/file/bot"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} phải là một số, nhận được {raw!r}") from exc


def _int_or_none(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(
            f"{name} phải là mã cuộc trò chuyện (số nguyên), nhận được {raw!r}"
        ) from exc


@dataclass
class BotSettings:
    token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    file_base_url: str = DEFAULT_FILE_BASE_URL
    rasa_url: str = field(default_factory=rasa_url)
    rasa_timeout: float = 15.0
    # Webhook mode when set (public HTTPS URL Telegram posts to); long polling otherwise.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Group chat where handoff requests are forwarded (can also be set with `trolydvc officials chat`).
    officials_chat_id: int | None = None
    # Telegram's limits: 30 messages/s overall, 1/s per chat. Tests lower the per-chat spacing.
    overall_rate: float = 29.5
    per_chat_interval: float = 1.0
    # A handoff case with no official activity for this long is closed automatically.
    handoff_timeout: float = 4 * 3600.0
    # Long polling timeout (seconds) for getUpdates.
    poll_timeout: float = 10.0
    # How often the scheduler looks for due scheduled broadcasts.
    broadcast_poll_interval: float = 30.0

    @classmethod
    def from_env(cls) -> BotSettings:
        token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ValueError("Chưa đặt TELEGRAM_BOT_TOKEN (lấy mã này từ @BotFather).")
        base = os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
        file_base = os.environ.get("TELEGRAM_FILE_BASE_URL", "").strip()
        if not file_base:
            file_base = (
                DEFAULT_FILE_BASE_URL
                if base == DEFAULT_API_BASE_URL
                else base.rstrip("/").rsplit("/", 1)[0] + "/file/bot"
            )
        return cls(
            token=token,
            api_base_url=base,
            file_base_url=file_base,
            rasa_timeout=_float("RASA_TIMEOUT", 15.0),
            webhook_url=os.environ.get("WEBHOOK_URL", "").strip() or None,
            webhook_secret=os.environ.get("WEBHOOK_SECRET", "").strip() or None,
            webhook_listen=os.environ.get("WEBHOOK_LISTEN", "127.0.0.1").strip(),
            webhook_port=int(_float("WEBHOOK_PORT", 8443)),
            officials_chat_id=_int_or_none("OFFICIALS_CHAT_ID"),
            overall_rate=_float("TELEGRAM_RATE_LIMIT", 29.5),
            per_chat_interval=_float("TELEGRAM_PER_CHAT_INTERVAL", 1.0),
            handoff_timeout=_float("HANDOFF_TIMEOUT", 4 * 3600.0),
        )
