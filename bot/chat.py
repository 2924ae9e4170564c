"""Citizens' side: commands, free text to Rasa, inline buttons, subscriptions, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import store
from bot.buttons import first_press, keep_pressable, mark_pressed
from bot.common import (
    chat_lock,
    db,
    is_private,
    language_of,
    log,
    pseudonym,
    reply_html,
    sender_id,
)
from bot.communes import commune_by_index, commune_keyboard, find_commune
from bot.feedback import ask_rating, take_comment
from bot.follow import follow_payload
from bot.handoff import relay_to_officials, start_handoff
from bot.keyboards import PayloadStore, button_title, decode_payload, rasa_keyboard
from bot.render import escape, split_message, truncate
from trolydvc.catalog import load_catalog
from trolydvc.i18n import LANGUAGE_NAMES, LANGUAGES, gettext, normalize_language
from trolydvc.rasa_client import RasaClient, RasaUnavailable
from trolydvc.tracking.follow import FOLLOW_PAYLOAD
from trolydvc.tracking.lookup import describe_dossier

MAX_ARGUMENT_CHARS = 200
MAX_CODE_CHARS = 60
TYPING_EVERY = 4.5
PORTAL_URL = "https://dichvucong.gov.vn"
# A catalog procedure code as the answers cite it ("1.001193", "2.000889").
PROCEDURE_CODE = re.compile(r"(?<![\d.])\d\.\d{6}(?!\.?\d)")
RATING_EVERY = 24 * 3600.0
# Button payloads the channel handles itself (the same as its commands).
LOCAL_PAYLOADS = ("/request_human", "/subscribe_notifications", "/unsubscribe_notifications")


def argument(context: ContextTypes.DEFAULT_TYPE) -> str:
    return " ".join(context.args or []).strip()


# ---- main menu and simple commands ---------------------------------------------------------
def main_menu(t: Callable[[str], str]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(t("Ask about a procedure"), callback_data="m:proc")],
        [InlineKeyboardButton(t("Check a submitted dossier"), callback_data="m:dossier")],
        [InlineKeyboardButton(t("Receive announcements"), callback_data="m:sub")],
        [InlineKeyboardButton(t("Talk to an official"), callback_data="m:human")],
        [
            InlineKeyboardButton(t("Language"), callback_data="m:lang"),
            InlineKeyboardButton(t("Help"), callback_data="m:help"),
        ],
    ]
    return InlineKeyboardMarkup(rows)


def help_text(t: Callable[[str], str]) -> str:
    return "\n".join(
        [
            t("<b>What I can do</b>"),
            t("Just write your question, for example: <i>làm giấy khai sinh cần giấy tờ gì</i>."),
            "",
            t("/tracuu CODE: the status of a dossier you submitted"),
            t("/thutuc WORDS: find a procedure in the catalog"),
            t("/dangky [commune]: receive announcements (optionally of one commune)"),
            t("/huydangky: stop receiving announcements"),
            t("/theodoi: the dossiers you follow (after a verified lookup)"),
            t("/botheodoi: stop following a dossier"),
            t("/canbo: talk to an official"),
            t("/ngonngu: Tiếng Việt / English"),
            t("/danhgia: rate the service"),
            "",
            t(
                "English aliases: /status, /procedure, /subscribe, /unsubscribe, /human, /language, /rate."
            ),
        ]
    )


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    text = "\n".join(
        [
            t("Hello! I am the <b>Public Services Assistant</b>."),
            t(
                "I answer questions about administrative procedures (papers, fees, time limits, "
                "where and how to submit, online submission) from the official catalog, and I can "
                "look up a dossier you submitted."
            ),
            "",
            t("Choose below or just write your question. To change the language: /ngonngu."),
        ]
    )
    await reply_html(update, text, reply_markup=main_menu(t))


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    await reply_html(update, help_text(t), reply_markup=main_menu(t))


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=f"lang:{code}")
                for code in LANGUAGES
            ]
        ]
    )


async def cmd_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    wanted = argument(context).lower()[:10]
    if (
        wanted
        and normalize_language(wanted) == wanted.split("-")[0]
        and wanted.split("-")[0] in LANGUAGES
    ):
        await set_language(update, context, wanted.split("-")[0])
        return
    t = gettext(await language_of(update, context))
    await reply_html(update, t("Choose your language:"), reply_markup=language_keyboard())


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    await db(store.set_language, chat.id, language)
    context.chat_data["lang"] = language
    t = gettext(language)
    await reply_html(update, t("From now on I will write in English."), reply_markup=main_menu(t))


# ---- /tracuu and /thutuc -------------------------------------------------------------------
async def cmd_tracuu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    words = (context.args or [])[:3]
    phone_last4 = None
    if len(words) >= 2 and re.fullmatch(r"\d{4}", words[-1]):
        phone_last4 = words.pop()
    code = " ".join(words).strip() if len(context.args or []) <= 3 else argument(context)
    if not code:
        await reply_html(
            update,
            t("Please send the dossier code after the command, for example:")
            + "\n<code>/tracuu 000.00.20.H50-221107-0001</code>",
        )
        return
    if len(code) > MAX_CODE_CHARS:
        await reply_html(
            update,
            t("That is too long to be a dossier code. A code looks like this:")
            + "\n<code>000.00.20.H50-221107-0001</code>",
        )
        return
    chat = update.effective_chat
    assert chat is not None
    async with chat_lock(context):
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        try:
            answer = await db(
                describe_dossier, code, sender_id=sender_id(chat.id), phone_last4=phone_last4
            )
        except Exception:
            log.exception("dossier lookup failed for chat %s", pseudonym(chat.id))
            await reply_html(
                update,
                t("Sorry, the dossier lookup is not available right now. Please try again later."),
            )
            return
    await reply_html(update, escape(_answer_text(answer)))


def _answer_text(answer: Any) -> str:
    """describe_dossier returns text (or an object with .text)."""
    return answer if isinstance(answer, str) else str(getattr(answer, "text", answer))


async def cmd_thutuc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    query = argument(context)
    if not query:
        await reply_html(
            update,
            t("Please write a few words of the procedure after the command, for example:")
            + "\n<code>/thutuc khai sinh</code>",
        )
        return
    query = query[:MAX_ARGUMENT_CHARS]
    try:
        hits = await db(lambda: load_catalog().search(query, limit=5))
    except Exception:
        log.exception("catalog search failed")
        await reply_html(update, t("Sorry, the procedure catalog is not available right now."))
        return
    if not hits:
        await reply_html(
            update,
            t(
                "I found no procedure matching these words. Try other words, or search the national portal:"
            )
            + f"\n{PORTAL_URL}",
        )
        return
    lines = [t("Procedures matching <i>{query}</i>:").format(query=escape(truncate(query, 60))), ""]
    buttons: list[dict[str, str]] = []
    for number, hit in enumerate(hits, 1):
        proc = hit.procedure
        lines.append(f"{number}. <b>{escape(proc.name)}</b>")
        source = proc.source_url
        source_label, no_source, code_label = (
            t("source"),
            t("no source link in the catalog"),
            t("Code"),
        )
        link = f' · <a href="{escape(source)}">{source_label}</a>' if source else f" · {no_source}"
        lines.append(f"   {code_label}: <code>{escape(proc.code)}</code>{link}")
        buttons.append(
            {
                "title": f"{number}. {proc.name}",
                "payload": '/ask_required_documents{"procedure":"' + proc.code + '"}',
            }
        )
    lines += ["", t("Press a procedure to see the papers it needs.")]
    await reply_html(
        update, "\n".join(lines), reply_markup=rasa_keyboard(_payloads(context), buttons)
    )


def _payloads(context: ContextTypes.DEFAULT_TYPE) -> PayloadStore:
    return context.bot_data["payloads"]


# ---- subscriptions -------------------------------------------------------------------------
async def cmd_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    wanted = argument(context)[:MAX_ARGUMENT_CHARS]
    if not wanted:
        await reply_html(
            update,
            t("Which announcements would you like to receive?"),
            reply_markup=commune_keyboard(t, "sub"),
        )
        return
    commune = find_commune(wanted)
    if commune is None:
        await reply_html(
            update,
            t("I do not know the commune <i>{name}</i>. Please choose one:").format(
                name=escape(truncate(wanted, 60))
            ),
            reply_markup=commune_keyboard(t, "sub"),
        )
        return
    await do_subscribe(update, context, commune)


async def do_subscribe(
    update: Update, context: ContextTypes.DEFAULT_TYPE, commune: str | None
) -> None:
    chat = update.effective_chat
    assert chat is not None
    language = await language_of(update, context)
    t = gettext(language)
    await db(store.subscribe, chat.id, language, commune)
    if commune:
        text = t("Done: you will receive the announcements of {commune}.").format(
            commune=escape(commune)
        )
    else:
        text = t("Done: you will receive the announcements of every commune.")
    await reply_html(update, text + "\n" + t("To stop: /huydangky."))


async def cmd_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    await do_unsubscribe(update, context)


async def do_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    t = gettext(await language_of(update, context))
    if await db(store.unsubscribe, chat.id):
        await reply_html(
            update,
            t("Done: you will no longer receive announcements. To subscribe again: /dangky."),
        )
    else:
        await reply_html(
            update, t("You are not subscribed to announcements. To subscribe: /dangky.")
        )


# ---- talking to Rasa -----------------------------------------------------------------------
async def _keep_typing(bot: Any, chat_id: int) -> None:
    while True:
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        await asyncio.sleep(TYPING_EVERY)


async def converse(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Send `text` to Rasa as this chat and show its answers."""
    chat = update.effective_chat
    assert chat is not None
    local = text.strip().split("{", 1)[0]
    if local == FOLLOW_PAYLOAD:  # consent to follow a verified dossier: stored by the bot
        await follow_payload(update, context, text)
        return
    if local in LOCAL_PAYLOADS:
        if local == "/request_human":
            await start_handoff(update, context)
        elif local == "/subscribe_notifications":
            t = gettext(await language_of(update, context))
            await reply_html(
                update,
                t("Which announcements would you like to receive?"),
                reply_markup=commune_keyboard(t, "sub"),
            )
        else:
            await do_unsubscribe(update, context)
        return
    language = await language_of(update, context)
    t = gettext(language)
    rasa: RasaClient = context.bot_data["rasa"]
    typing = asyncio.create_task(_keep_typing(context.bot, chat.id))
    try:
        answers = await rasa.send(
            sender_id(chat.id), text, metadata={"channel": "telegram", "language": language}
        )
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable for chat %s: %s", pseudonym(chat.id), exc.__class__.__name__)
        token = _payloads(context).put([("retry", text)])
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t("Try again"), callback_data=f"retry:{token}")]]
        )
        await reply_html(
            update,
            t(
                "Sorry, the assistant is busy or temporarily unavailable. Please try again in a minute."
            ),
            reply_markup=keyboard,
        )
        return
    finally:
        typing.cancel()
    await show_answers(update, context, answers)


async def show_answers(
    update: Update, context: ContextTypes.DEFAULT_TYPE, answers: list[dict[str, Any]]
) -> None:
    chat = update.effective_chat
    assert chat is not None
    t = gettext(await language_of(update, context))
    shown = False
    for answer in answers:
        custom = answer.get("custom")
        if isinstance(custom, dict) and custom.get("channel_action"):
            await channel_action(update, context, custom)
            shown = True
        keyboard = rasa_keyboard(_payloads(context), answer.get("buttons") or [])
        text = answer.get("text")
        if text:
            parts = split_message(escape(str(text)))
            for index, part in enumerate(parts):
                markup = keyboard if index == len(parts) - 1 else None
                await context.bot.send_message(
                    chat.id, part, parse_mode=ParseMode.HTML, reply_markup=markup
                )
            shown = True
        elif keyboard is not None:
            await context.bot.send_message(chat.id, t("Please choose:"), reply_markup=keyboard)
            shown = True
        image = answer.get("image")
        if isinstance(image, str) and image.startswith(("http://", "https://")):
            with contextlib.suppress(BadRequest):
                await context.bot.send_photo(chat.id, image)
                shown = True
    if not shown:
        await reply_html(
            update, t("Sorry, I have no answer to that. Type /help to see what I can do.")
        )
        return
    await maybe_ask_rating(update, context, answers)


async def maybe_ask_rating(
    update: Update, context: ContextTypes.DEFAULT_TYPE, answers: list[dict[str, Any]]
) -> None:
    """After an answer about a procedure (it cites a catalog code), ask for a rating, at most
    once a day per chat."""
    codes = [
        m.group(0) for a in answers for m in [PROCEDURE_CODE.search(str(a.get("text") or ""))] if m
    ]
    if not codes:
        return
    last = context.chat_data.get("rating_asked_at")
    if last is not None and time.monotonic() - last < RATING_EVERY:
        return
    context.chat_data["rating_asked_at"] = time.monotonic()
    await ask_rating(update, context, topic=codes[-1])


async def channel_action(
    update: Update, context: ContextTypes.DEFAULT_TYPE, custom: dict[str, Any]
) -> None:
    """Custom payloads from the actions (see notes: handoff, subscribe, unsubscribe, ask_rating)."""
    action = custom.get("channel_action")
    if action == "handoff":
        await start_handoff(update, context)
    elif action == "subscribe":
        commune = custom.get("commune")
        await do_subscribe(
            update, context, find_commune(commune) if isinstance(commune, str) else None
        )
    elif action == "unsubscribe":
        await do_unsubscribe(update, context)
    elif action == "ask_rating":
        topic = custom.get("topic")
        await ask_rating(update, context, topic=str(topic)[:60] if topic else None)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private free text: the handoff desk, a pending comment, else the assistant."""
    message = update.effective_message
    if message is None or not message.text or not is_private(update):
        return
    remember_message(context, message)
    async with chat_lock(context):
        if await relay_to_officials(update, context):
            return
        if await take_comment(update, context):
            return
        await converse(update, context, message.text)


def remember_message(context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    """Keep the ids of the last few messages of the chat (forwarded when the user asks for a human)."""
    recent: deque[int] = context.chat_data.setdefault("recent", deque(maxlen=5))
    recent.append(message.message_id)


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice, files... in a private chat."""
    if not is_private(update):
        return
    message = update.effective_message
    if message is not None:
        remember_message(context, message)
    async with chat_lock(context):
        if await relay_to_officials(update, context):
            return
    t = gettext(await language_of(update, context))
    await reply_html(
        update,
        t(
            "I can only read text messages. Please write your question, or type /canbo to talk to an official."
        ),
    )


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update):
        return
    t = gettext(await language_of(update, context))
    await reply_html(update, t("I do not know that command.") + "\n\n" + help_text(t))


# ---- buttons ---------------------------------------------------------------------------------
# Each kind of button has its handler, registered by its callback-data pattern in bot.app.
async def _accept_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A citizen's button is served in a private chat, once per keyboard; False when refused."""
    query = update.callback_query
    assert query is not None
    t = gettext(await language_of(update, context))
    if not is_private(update):
        await query.answer()
        return False
    if not first_press(context, query):
        await query.answer(t("You already chose an option here."))
        return False
    return True


async def _too_old(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    t = gettext(await language_of(update, context))
    await query.answer(t("This button is too old. Please ask your question again."))
    await mark_pressed(query, None)


async def on_payload_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Rasa button (`p:<payload>` or `k:<token>:<index>`): its payload goes to the assistant."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _accept_press(update, context):
        return
    decoded = decode_payload(_payloads(context), query.data)
    if decoded is None:
        await _too_old(update, context)
        return
    title, payload = decoded
    title = title or button_title(getattr(query.message, "reply_markup", None), query.data)
    await query.answer()
    await mark_pressed(query, title)
    async with chat_lock(context):
        await converse(update, context, payload)


async def on_retry_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`retry:<token>`: the question Rasa could not answer, sent again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _accept_press(update, context):
        return
    found = _payloads(context).get(query.data.split(":", 1)[1], 0)
    if found is None:
        await _too_old(update, context)
        return
    t = gettext(await language_of(update, context))
    await query.answer()
    await mark_pressed(query, t("Try again"))
    async with chat_lock(context):
        await converse(update, context, found[1])


async def on_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`lang:<code>`."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _accept_press(update, context):
        return
    await query.answer()
    value = query.data.split(":", 1)[1]
    if value in LANGUAGES:
        await mark_pressed(query, LANGUAGE_NAMES[value])
        await set_language(update, context, value)
    else:
        await mark_pressed(query, None)


async def on_subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`sub:*` (every commune) or `sub:<index of the commune>`."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _accept_press(update, context):
        return
    t = gettext(await language_of(update, context))
    await query.answer()
    valid, commune = commune_by_index(query.data.split(":", 1)[1])
    if not valid:
        await mark_pressed(query, None)
        return
    await mark_pressed(query, commune or t("All communes"))
    await do_subscribe(update, context, commune)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data no handler knows (an old version's keyboard): the keyboard goes away."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not await _accept_press(update, context):
        return
    await query.answer()
    await mark_pressed(query, None)


async def on_menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`m:<item>` of the main menu."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _accept_press(update, context):
        return
    await query.answer()
    # The main menu stays usable: only the chosen item is acknowledged, the keyboard is kept.
    keep_pressable(context, query)
    t = gettext(await language_of(update, context))
    value = query.data.split(":", 1)[1]
    if value == "proc":
        await reply_html(
            update,
            t(
                "Write your question about a procedure, for example: <i>đăng ký kết hôn cần giấy tờ gì</i>, or search the catalog with /thutuc WORDS."
            ),
        )
    elif value == "dossier":
        await reply_html(
            update,
            t("Send /tracuu followed by your dossier code, for example:")
            + "\n<code>/tracuu 000.00.20.H50-221107-0001</code>",
        )
    elif value == "sub":
        await reply_html(
            update,
            t("Which announcements would you like to receive?"),
            reply_markup=commune_keyboard(t, "sub"),
        )
    elif value == "human":
        async with chat_lock(context):
            await start_handoff(update, context)
    elif value == "lang":
        await reply_html(update, t("Choose your language:"), reply_markup=language_keyboard())
    else:
        await reply_html(update, help_text(t))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edited messages are ignored on purpose: the question was already answered."""
    log.debug(
        "ignored an edited message in chat %s",
        pseudonym(update.effective_chat.id if update.effective_chat else None),
    )
