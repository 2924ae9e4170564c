"""Ratings (1-5) with an optional comment, stored in the `feedback` table for the statistics."""

from __future__ import annotations

import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import store
from bot.buttons import first_press, mark_pressed
from bot.common import db, language_of, reply_html, sender_id
from bot.render import truncate
from trolydvc.i18n import gettext

COMMENT_WINDOW = 600.0  # seconds during which the next text is taken as the comment
MAX_COMMENT_CHARS = 2000
MAX_TOPIC_CHARS = 40


def rating_keyboard(topic: str | None) -> InlineKeyboardMarkup:
    suffix = f":{topic[:MAX_TOPIC_CHARS]}" if topic else ""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{n}★", callback_data=f"fb:{n}{suffix}") for n in range(1, 6)]]
    )


async def send_rating_request(
    bot: Any, chat_id: int, language: str, chat_data: dict[str, Any] | None, topic: str | None
) -> None:
    t = gettext(language)
    await bot.send_message(
        chat_id,
        t("How satisfied are you with the help you received? (1 = not at all, 5 = very)"),
        parse_mode=ParseMode.HTML,
        reply_markup=rating_keyboard(topic),
    )


async def ask_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, topic: str | None = None
) -> None:
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    await send_rating_request(
        context.bot, chat.id, await language_of(update, context), context.chat_data, topic
    )


async def cmd_rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await ask_rating(update, context, topic=None)


async def on_rating(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and query.data is not None
    t = gettext(await language_of(update, context))
    parts = query.data.split(":", 2)
    if (
        chat is None
        or chat.type != "private"
        or len(parts) < 2
        or parts[1] not in {"1", "2", "3", "4", "5"}
    ):
        await query.answer()
        return
    if not first_press(context, query):
        await query.answer(t("You already chose an option here."))
        return
    rating = int(parts[1])
    topic = parts[2] if len(parts) > 2 else None
    feedback_id = await db(store.save_feedback, sender_id(chat.id), rating, None, topic)
    await query.answer(t("Thank you!"))
    await mark_pressed(query, "★" * rating)
    context.chat_data["await_comment"] = (feedback_id, time.monotonic())
    await reply_html(
        update,
        t("Thank you for your rating! If you wish, write a short comment now, or /boqua to skip."),
    )


async def take_comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The text right after a rating is its comment; True when taken."""
    pending = context.chat_data.get("await_comment")
    message = update.effective_message
    if not pending or message is None or not message.text:
        return False
    feedback_id, since = pending
    context.chat_data.pop("await_comment", None)
    if time.monotonic() - since > COMMENT_WINDOW:
        return False
    await db(
        store.add_feedback_comment, feedback_id, truncate(message.text.strip(), MAX_COMMENT_CHARS)
    )
    t = gettext(await language_of(update, context))
    await reply_html(update, t("Thank you, your comment has been recorded."))
    return True


async def cmd_skip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = gettext(await language_of(update, context))
    context.chat_data.pop("await_comment", None)
    await reply_html(update, t("All right. Ask me anything whenever you need."))
