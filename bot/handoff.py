"""Human handoff: a citizen's conversation goes to the officials' group chat and back.

- `/canbo` (or the assistant's request_human answer) opens a case: a header and the citizen's
  last messages are forwarded to the officials' group; while the case is open the bot stays quiet
  in that chat and forwards whatever the citizen writes.
- An official *replies* (Telegram's reply) to any message of the case in the group: the reply
  reaches the citizen.
- The case is closed by an official (the "Close" button or /dong as a reply), by the citizen
  (/ketthuc), or after `handoff_timeout` without activity; the citizen is then asked for a rating.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import store
from bot.access import require_official
from bot.buttons import mark_pressed
from bot.common import chat_lock, db, language_of, log, pseudonym, reply_html
from bot.feedback import send_rating_request
from bot.render import escape, split_message
from trolydvc.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, gettext
from trolydvc.locality import load_locality


async def desk_chat_id(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    settings = context.bot_data["settings"]
    if settings.officials_chat_id is not None:
        return settings.officials_chat_id
    value = await db(store.get_setting, store.OFFICIALS_CHAT_KEY)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _close_button(case_id: int) -> InlineKeyboardMarkup:
    t = gettext(DEFAULT_LANGUAGE)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("Close case #{id}").format(id=case_id), callback_data=f"ho:close:{case_id}"
                )
            ]
        ]
    )


def _hotline_text() -> str:
    try:
        hotline = load_locality().hotline
    except Exception:
        return ""
    return f"{hotline.name}: {hotline.phone}" if hotline else ""


async def start_handoff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    language = await language_of(update, context)
    t = gettext(language)
    desk = await desk_chat_id(context)
    if desk is None:
        hotline = _hotline_text()
        text = t("Sorry, no official is available through this chat at the moment.")
        if hotline:
            text += "\n" + t("You can call: {hotline}").format(hotline=escape(hotline))
        await reply_html(update, text)
        return
    case, created = await db(store.open_case, chat.id, language)
    if not created:
        await reply_html(
            update, t("Your request is already with the officials. They will answer you here.")
        )
        return
    g = gettext(DEFAULT_LANGUAGE)
    try:
        header = await context.bot.send_message(
            desk,
            g("<b>Request #{id}</b> from a citizen (language: {language}).").format(
                id=case.id, language=LANGUAGE_NAMES.get(language, language)
            )
            + "\n"
            + g("Reply to this message or to the forwarded ones to answer; press Close when done."),
            parse_mode=ParseMode.HTML,
            reply_markup=_close_button(case.id),
        )
    except TelegramError as exc:
        # The desk is misconfigured (the bot is not in that group, ...): do not leave the
        # citizen in a case nobody can see.
        log.error("handoff desk unreachable: %s", exc.__class__.__name__)
        await db(store.close_case, case.id, None)
        await reply_html(
            update, t("Sorry, no official is available through this chat at the moment.")
        )
        return
    await db(store.link_case_message, case.id, desk, header.message_id)
    for message_id in list(context.chat_data.get("recent", [])):
        with contextlib.suppress(TelegramError):
            forwarded = await context.bot.forward_message(desk, chat.id, message_id)
            await db(store.link_case_message, case.id, desk, forwarded.message_id)
    log.info("handoff case %s opened for chat %s", case.id, pseudonym(chat.id))
    await reply_html(
        update,
        t(
            "I have passed your conversation to an official of the one-stop shop. Their answer will arrive here."
        )
        + "\n"
        + t("Until then, what you write goes to them. To end the conversation: /ketthuc."),
    )


async def relay_to_officials(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """While the chat has an open case, forward the citizen's message to the desk; True if so."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return False
    case = await db(store.active_case, chat.id)
    if case is None:
        return False
    desk = await desk_chat_id(context)
    if desk is None:
        return False
    try:
        forwarded = await context.bot.forward_message(desk, chat.id, message.message_id)
    except TelegramError as exc:
        log.warning("handoff relay failed for case %s: %s", case.id, exc.__class__.__name__)
        t = gettext(case.language)
        await reply_html(
            update, t("Sorry, your message could not be passed to the officials. Please try again.")
        )
        return True
    await db(store.link_case_message, case.id, desk, forwarded.message_id)
    return True


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Messages in groups: only replies in the officials' desk matter; anything else is ignored."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or message is None or user is None:
        return
    desk = await desk_chat_id(context)
    if desk is None or chat.id != desk or message.reply_to_message is None:
        return  # other groups, or ordinary chatter in the desk: ignored on purpose
    case = await db(store.case_of_group_message, chat.id, message.reply_to_message.message_id)
    if case is None:
        return
    official = await db(store.official, user.id)
    g = gettext(DEFAULT_LANGUAGE)
    if official is None:
        log.warning("refused a desk reply from user %s (not an official)", pseudonym(user.id))
        await message.reply_text(g("Only registered officials can answer citizens."))
        return
    if case.status != "open":
        await message.reply_text(
            g("Case #{id} is closed; the citizen can open a new one with /canbo.").format(
                id=case.id
            )
        )
        return
    text = message.text or ""
    if text.split(" ", 1)[0].split("@", 1)[0] in ("/dong", "/close"):
        await close(context, case.id, official.id, by_official=True)
        return
    try:
        if text:
            await send_answer(context.bot, case, text)
        else:
            t = gettext(case.language)
            await context.bot.send_message(
                case.chat_id, t("<b>Official's answer:</b>"), parse_mode=ParseMode.HTML
            )
            await context.bot.copy_message(case.chat_id, chat.id, message.message_id)
    except TelegramError as exc:
        await message.reply_text(
            g("Could not deliver the answer ({error}).").format(error=exc.__class__.__name__)
        )
        return
    await db(store.link_case_message, case.id, chat.id, message.message_id)


async def send_answer(bot: Bot, case: store.Case, text: str) -> None:
    """An official's text answer to the citizen of `case`, as the citizen's chat shows it (the
    desk group's replies and the web dashboard both send it this way). Raises TelegramError."""
    t = gettext(case.language)
    for part in split_message(t("<b>Official's answer:</b>") + "\n" + escape(text)):
        await bot.send_message(case.chat_id, part, parse_mode=ParseMode.HTML)


async def close(
    context: ContextTypes.DEFAULT_TYPE, case_id: int, official_id: int | None, *, by_official: bool
) -> bool:
    case = await db(store.close_case, case_id, official_id)
    if case is None:
        return False
    await _after_close(context, case, by_official=by_official)
    return True


async def _after_close(
    context: ContextTypes.DEFAULT_TYPE,
    case: store.Case,
    *,
    by_official: bool,
    timed_out: bool = False,
) -> None:
    t = gettext(case.language)
    if timed_out:
        text = t(
            "The conversation with the official was closed after a long time without activity."
        )
    elif by_official:
        text = t("The official has closed the conversation.")
    else:
        text = t("You have ended the conversation with the official.")
    text += " " + t("I am the assistant again: ask me anything.")
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(case.chat_id, text, parse_mode=ParseMode.HTML)
        chat_data = context.application.chat_data[case.chat_id]
        await send_rating_request(
            context.bot, case.chat_id, case.language, chat_data, topic=f"handoff:{case.id}"
        )
    desk = await desk_chat_id(context)
    if desk is not None:
        g = gettext(DEFAULT_LANGUAGE)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(desk, g("Case #{id} is closed.").format(id=case.id))
    log.info("handoff case %s closed", case.id)


async def on_desk_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Close button of a case in the desk."""
    query = update.callback_query
    assert query is not None and query.data is not None
    official = await require_official(update, context, "close case")
    if official is None:
        return
    try:
        case_id = int(query.data.split(":")[2])
    except (IndexError, ValueError):
        await query.answer()
        return
    closed = await close(context, case_id, official.id, by_official=True)
    g = gettext(DEFAULT_LANGUAGE)
    await query.answer(g("Closed.") if closed else g("Already closed."))
    await mark_pressed(query, g("Closed"))


async def cmd_end(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ketthuc: the citizen ends the conversation with the official."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    t = gettext(await language_of(update, context))
    case = await db(store.active_case, chat.id)
    if case is None:
        await reply_html(update, t("You are not talking to an official at the moment."))
        return
    await close(context, case.id, None, by_official=False)


async def cmd_human(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async with chat_lock(context):
        await start_handoff(update, context)


async def expire_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue: close cases idle for longer than the timeout."""
    settings = context.bot_data["settings"]
    cases = await db(store.expire_cases, timedelta(seconds=settings.handoff_timeout))
    for case in cases:
        await _after_close(context, case, by_official=False, timed_out=True)
