"""Bot settings, from the environment (trolydvc.config.settings; see README: "Settings")."""

from __future__ import annotations

from dataclasses import dataclass, field

from trolydvc.config import rasa_url, settings

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_BASE_URL = "https://api.telegram.org/file/bot"


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
        env = settings()
        token = env.telegram_bot_token.get_secret_value()
        if not token:
            raise ValueError("Chưa đặt TELEGRAM_BOT_TOKEN (lấy mã này từ @BotFather).")
        base = env.telegram_api_base_url or DEFAULT_API_BASE_URL
        file_base = env.telegram_file_base_url
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
            rasa_timeout=env.rasa_timeout,
            webhook_url=env.webhook_url,
            webhook_secret=env.webhook_secret.get_secret_value() if env.webhook_secret else None,
            webhook_listen=env.webhook_listen,
            webhook_port=env.webhook_port,
            officials_chat_id=env.officials_chat_id,
            overall_rate=env.telegram_rate_limit,
            per_chat_interval=env.telegram_per_chat_interval,
            handoff_timeout=env.handoff_timeout,
        )
