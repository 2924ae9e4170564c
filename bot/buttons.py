"""The state of pressed inline buttons: a keyboard answers one press, then shows what was chosen."""

from __future__ import annotations

from collections import deque
from typing import Any

from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.common import log
from bot.render import escape

# How many pressed keyboards a chat remembers (older ones are edited away anyway).
REMEMBERED_PRESSES = 30


def _pressed(context: ContextTypes.DEFAULT_TYPE) -> deque[int]:
    return context.chat_data.setdefault("pressed", deque(maxlen=REMEMBERED_PRESSES))


def first_press(context: ContextTypes.DEFAULT_TYPE, query: Any) -> bool:
    """True the first time a keyboard (its message) is pressed in this chat, False after."""
    pressed = _pressed(context)
    message_id = query.message.message_id if query.message else None
    if message_id is None:
        return True
    if message_id in pressed:
        return False
    pressed.append(message_id)
    return True


def keep_pressable(context: ContextTypes.DEFAULT_TYPE, query: Any) -> None:
    """Forget a press, so the keyboard can be pressed again (the main menu stays usable)."""
    pressed = _pressed(context)
    if query.message and query.message.message_id in pressed:
        pressed.remove(query.message.message_id)


async def mark_pressed(query: Any, title: str | None) -> None:
    """Edit the pressed keyboard away so it cannot be pressed twice; show what was chosen."""
    message = query.message
    try:
        if isinstance(message, Message) and message.text and title:
            await query.edit_message_text(
                f"{message.text_html}\n\n» <i>{escape(title)}</i>",
                parse_mode=ParseMode.HTML,
                reply_markup=None,
            )
        else:
            await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.info("could not edit a pressed keyboard: %s", exc.message)
