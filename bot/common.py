"""Helpers shared by the handlers: the chat's language and lock, translations, DB calls, safe logging."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import store
from bot.render import split_message
from trolydvc.i18n import gettext, normalize_language

log = logging.getLogger("bot")
T = TypeVar("T")


async def db(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking DB call off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


def chat_lock(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Lock:
    """One lock per chat: a chat's messages are answered in order even with concurrent updates."""
    lock = context.chat_data.get("_lock")
    if lock is None:
        lock = context.chat_data["_lock"] = asyncio.Lock()
    return lock


def pseudonym(chat_or_user_id: int | None) -> str:
    """A short stable pseudonym for logs (never the raw id, a name or a phone)."""
    if chat_or_user_id is None:
        return "-"
    return hashlib.sha256(f"trolydvc:{chat_or_user_id}".encode()).hexdigest()[:10]


def sender_id(chat_id: int) -> str:
    """The Rasa conversation id of a Telegram chat."""
    return f"tg:{chat_id}"


async def language_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The chat's language: chosen with /ngonngu (stored), else the client's, else Vietnamese."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    cached = chat_data.get("lang")
    if cached:
        return cached
    language = None
    chat = update.effective_chat
    if chat is not None:
        profile = await db(store.get_profile, chat.id)
        if profile is not None:
            language = profile.language
    if language is None:
        user = update.effective_user
        language = normalize_language(user.language_code if user else None)
    chat_data["lang"] = language
    return language


async def translator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Callable[[str], str]:
    return gettext(await language_of(update, context))


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


async def reply_html(update: Update, text: str, **kwargs: Any) -> None:
    """Reply in the update's chat with HTML, split under Telegram's limit."""
    message = update.effective_message
    if message is None:
        return
    parts = split_message(text)
    for index, part in enumerate(parts):
        extra = kwargs if index == len(parts) - 1 else {}
        await message.get_bot().send_message(
            message.chat_id,
            part,
            parse_mode=ParseMode.HTML,
            **extra,
        )
