"""The Telegram Application: handlers, commands menu, lifecycle, polling or webhook."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import sys
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot import chat, feedback, follow, handoff, officials, store
from bot.broadcast import BroadcastManager, SenderOptions
from bot.common import db, log, pseudonym
from bot.keyboards import PayloadStore
from bot.pacing import PacedRateLimiter, paced_request
from bot.settings import BotSettings
from trolydvc.i18n import LANGUAGES, gettext
from trolydvc.rasa_client import RasaClient
from trolydvc.tracking.follow import delivery_texts, follow_notify_interval

# (Vietnamese command, English alias, handler); the description is translated per language.
CITIZEN_COMMANDS: list[tuple[str, str, Any, str]] = [
    ("start", "menu", chat.cmd_start, "Welcome and main menu"),
    ("trogiup", "help", chat.cmd_help, "What the assistant can do"),
    ("tracuu", "status", chat.cmd_tracuu, "Status of a dossier: /tracuu CODE"),
    ("thutuc", "procedure", chat.cmd_thutuc, "Find a procedure: /thutuc WORDS"),
    ("dangky", "subscribe", chat.cmd_subscribe, "Receive announcements"),
    ("huydangky", "unsubscribe", chat.cmd_unsubscribe, "Stop announcements"),
    ("theodoi", "followed", follow.cmd_followed, "Dossiers you follow"),
    ("botheodoi", "unfollow", follow.cmd_unfollow, "Stop following a dossier"),
    ("canbo", "human", handoff.cmd_human, "Talk to an official"),
    ("ketthuc", "end", handoff.cmd_end, "End the conversation with the official"),
    ("danhgia", "rate", feedback.cmd_rate, "Rate the service"),
    ("ngonngu", "language", chat.cmd_language, "Tiếng Việt / English"),
]
OFFICIAL_COMMANDS: list[tuple[str, str, Any, str]] = [
    ("thongbao", "broadcast", officials.cmd_broadcast, "Send an announcement to subscribers"),
    (
        "huythongbao",
        "cancelbroadcast",
        officials.cmd_cancel_broadcast,
        "Cancel a scheduled announcement",
    ),
    ("thongke", "stats", officials.cmd_stats, "Statistics report and chart"),
]
OTHER_COMMANDS: list[tuple[str, str, Any]] = [
    ("huy", "cancel", officials.cmd_cancel),
    ("boqua", "skip", feedback.cmd_skip),
]
# Inline buttons by the prefix of their callback data (any other data: chat.on_unknown_button).
CALLBACK_HANDLERS: list[tuple[str, Any]] = [
    (r"^[pk]:", chat.on_payload_button),
    (r"^retry:", chat.on_retry_button),
    (r"^lang:", chat.on_language_button),
    (r"^sub:", chat.on_subscribe_button),
    (r"^m:", chat.on_menu_button),
    (r"^fb:", feedback.on_rating),
    (r"^bc:", officials.on_broadcast_button),
    (r"^ho:", handoff.on_desk_callback),
    (r"^unf:", follow.on_stop_button),
]


def _(message: str) -> str:
    return message


# Descriptions are extracted for translation from the tables above:
_DESCRIPTIONS = [
    _("Welcome and main menu"),
    _("What the assistant can do"),
    _("Status of a dossier: /tracuu CODE"),
    _("Find a procedure: /thutuc WORDS"),
    _("Receive announcements"),
    _("Stop announcements"),
    _("Dossiers you follow"),
    _("Stop following a dossier"),
    _("Talk to an official"),
    _("End the conversation with the official"),
    _("Rate the service"),
    _("Send an announcement to subscribers"),
    _("Cancel a scheduled announcement"),
    _("Statistics report and chart"),
]


def bot_commands(language: str, *, for_official: bool = False) -> list[BotCommand]:
    t = gettext(language)
    table = CITIZEN_COMMANDS + (OFFICIAL_COMMANDS if for_official else [])
    return [BotCommand(vi, t(description)) for vi, _en, _handler, description in table]


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await officials.take_compose_text(update, context) or await officials.take_schedule_text(
        update, context
    ):
        return
    await chat.on_text(update, context)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error without personal data (no message text, names or raw ids); apologise."""
    error = context.error
    chat_id = (
        update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    )
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "error while handling update %s (chat %s): %s",
        update_id,
        pseudonym(chat_id),
        error.__class__.__name__,
        exc_info=error,
    )
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        t = gettext(context.chat_data.get("lang") if context.chat_data else None)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id,
                t("Sorry, something went wrong on my side. Please try again."),
            )


def register_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(["nhomcanbo", "officialsgroup"], officials.cmd_set_desk))
    # Group chats: only the officials' desk is served (replies to cases); the rest is ignored.
    app.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.UpdateType.MESSAGE, handoff.on_group_message
        )
    )
    for vi, en, handler, _description in CITIZEN_COMMANDS + OFFICIAL_COMMANDS:
        app.add_handler(CommandHandler([vi, en], handler, filters=private))
    for vi, en, handler in OTHER_COMMANDS:
        app.add_handler(CommandHandler([vi, en], handler, filters=private))
    for pattern, callback in CALLBACK_HANDLERS:
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(CallbackQueryHandler(chat.on_unknown_button))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, chat.on_edited))
    app.add_handler(MessageHandler(private & filters.COMMAND, chat.on_unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT, on_private_text))
    app.add_handler(MessageHandler(private & ~filters.TEXT, chat.on_other_message))
    app.add_error_handler(on_error)


async def on_startup(app: Application) -> None:
    """Commands menu, resume interrupted broadcasts, periodic jobs."""
    try:
        await app.bot.set_my_commands(bot_commands("vi"))
        for language in LANGUAGES:
            await app.bot.set_my_commands(bot_commands(language), language_code=language)
        for official in await db(store.list_officials):
            # (fails when the official has not started a chat with the bot yet)
            with contextlib.suppress(TelegramError):
                await app.bot.set_my_commands(
                    bot_commands("vi", for_official=True),
                    scope=BotCommandScopeChat(official.telegram_user_id),
                )
    except TelegramError as exc:
        log.warning("could not register the commands menu: %s", exc.__class__.__name__)
    manager: BroadcastManager = app.bot_data["broadcasts"]
    resumed = await manager.start_due()
    if resumed:
        log.info("resumed/started %s broadcast(s)", len(resumed))
    settings: BotSettings = app.bot_data["settings"]
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _scheduled_job,
            interval=settings.broadcast_poll_interval,
            first=settings.broadcast_poll_interval,
        )
        app.job_queue.run_repeating(handoff.expire_job, interval=60, first=60)
        interval = follow_notify_interval()
        app.job_queue.run_repeating(follow.notify_job, interval=interval, first=interval)


async def _scheduled_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot_data["broadcasts"].start_due()


async def on_stop(app: Application) -> None:
    await app.bot_data["broadcasts"].stop()


async def on_shutdown(app: Application) -> None:
    await app.bot_data["rasa"].aclose()


def build_application(
    settings: BotSettings, *, sender_options: SenderOptions | None = None
) -> Application:
    limiter = PacedRateLimiter(settings.overall_rate, settings.per_chat_interval)
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        .rate_limiter(limiter)
        # tells the limiter when each request is really written, so a pause between its gate
        # and the socket (a GC pause) cannot bunch requests past Telegram's cap
        .request(paced_request(limiter))
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(64)
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    app.bot_data["settings"] = settings
    app.bot_data["rasa"] = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    app.bot_data["payloads"] = PayloadStore()
    app.bot_data["limiter"] = limiter
    app.bot_data["broadcasts"] = BroadcastManager(
        app.bot,
        limiter,
        sender_options,
        on_progress=officials.make_progress_reporter(app.bot),
        texts=delivery_texts,
    )
    register_handlers(app)
    return app


def webhook_path(token: str) -> str:
    """A path that does not reveal the token."""
    return "tg-" + hashlib.sha256(token.encode()).hexdigest()[:24]


def tune_interpreter() -> None:
    """Hand the GIL back to the event loop sooner when a DB thread is busy (default 5 ms):
    keeps the paced sends on time, so Telegram's per-second cap is not overrun by bunching.
    Objects alive by then (the imported modules) are moved out of the collector's reach, which
    shortens its full collections (80-200 ms pauses measured by bench/broadcast.py)."""
    sys.setswitchinterval(0.001)
    gc.freeze()


def webhook_options(settings: BotSettings) -> dict[str, Any]:
    """Arguments of `run_webhook` / `Updater.start_webhook` for these settings."""
    if not settings.webhook_url:
        raise ValueError("Chưa đặt WEBHOOK_URL.")
    if not settings.webhook_secret:
        raise ValueError(
            "Cần đặt WEBHOOK_SECRET cùng với WEBHOOK_URL (Telegram gửi lại mã này kèm mỗi cập nhật)."
        )
    if not settings.webhook_url.startswith("https://") and not settings.webhook_url.startswith(
        "http://127."
    ):
        raise ValueError("WEBHOOK_URL phải là địa chỉ https:// mà Telegram truy cập được.")
    path = webhook_path(settings.token)
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": path,
        "webhook_url": settings.webhook_url.rstrip("/") + "/" + path,
        "secret_token": settings.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run(settings: BotSettings) -> None:
    """Run until interrupted: webhook mode when WEBHOOK_URL is set, long polling otherwise."""
    tune_interpreter()
    options = webhook_options(settings) if settings.webhook_url else None
    app = build_application(settings)
    if options is not None:
        log.info("webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port)
        app.run_webhook(**options)
    else:
        log.info("long polling mode")
        app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=int(settings.poll_timeout))
