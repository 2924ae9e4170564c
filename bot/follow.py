"""Following dossiers in Telegram: the "Follow this dossier" button, /theodoi, /botheodoi, and the
periodic notifier job (the domain and the notifier: trolydvc.tracking.follow).

The button comes from the dossier action after a verified lookup, as the Rasa payload
``/follow_dossier{"dossier_code": "..."}``; the bot handles it itself (like /request_human): the
consent is stored with the chat id, which only the bot knows, and no NLU is involved in a press.
The action left an offer for this conversation only when the phone's digits matched, so a chat
cannot follow a dossier it did not verify.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.buttons import first_press, mark_pressed
from bot.common import db, is_private, language_of, log, reply_html, sender_id
from bot.render import escape
from trolydvc.i18n import gettext
from trolydvc.tracking import follow as domain
from trolydvc.tracking.fields import STATUS_LABELS
from trolydvc.tracking.follow import code_of_payload
from trolydvc.tracking.lookup import normalize_code

STOP_PREFIX = "unf:"


async def follow_payload(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    language = await language_of(update, context)
    t = gettext(language)
    code = code_of_payload(text)
    if code is None:
        await reply_html(
            update, t("This button is not valid any more. Please look the dossier up again.")
        )
        return
    result = await db(domain.follow, chat.id, sender_id(chat.id), code, language)
    c = escape(code)
    if result.kind == "followed":
        message = t(
            "You are now following dossier {code}. I will write to you when its status changes "
            "or its due date passes, until {days} days after the result is returned. "
            "Your followed dossiers: /theodoi. Stop: /botheodoi."
        ).format(code=c, days=domain.days_after_result())
    elif result.kind == "already":
        message = t("You are already following dossier {code}. List: /theodoi.").format(code=c)
    elif result.kind == "limit":
        message = t(
            "You already follow {count} dossiers, the most allowed. Stop following one with "
            "/botheodoi, then try again."
        ).format(count=result.count)
    else:  # not verified in this conversation (or too long ago), or unknown
        message = t(
            "To follow dossier {code}, please look it up again and confirm the last 4 digits of "
            "the phone number registered with it."
        ).format(code=c)
    await reply_html(update, message)


def _list_text(t: Any, items: list[domain.Followed], language: str) -> str:
    if not items:
        return t(
            "You are not following any dossier. After looking a dossier up and confirming the "
            "phone digits, press “Follow this dossier”."
        )
    lines = [t("<b>Dossiers you follow</b>")]
    for item in items:
        status = (
            STATUS_LABELS.get(item.status, item.status)
            if language == "vi"
            else t(domain.STATUS_NAMES.get(item.status, item.status))
        )
        lines.append(f"• {escape(item.code)}: {escape(status)}")
    lines.append(t("Stop following: press a button below or send /botheodoi."))
    return "\n".join(lines)


def _stop_keyboard(t: Any, items: list[domain.Followed]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                t("Stop: {code}").format(code=i.code), callback_data=STOP_PREFIX + i.code
            )
        ]
        for i in items
        if len((STOP_PREFIX + i.code).encode()) <= 64
    ]
    if len(items) > 1:
        rows.append([InlineKeyboardButton(t("Stop all"), callback_data=STOP_PREFIX + "*")])
    return InlineKeyboardMarkup(rows) if rows else None


async def cmd_followed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/theodoi: the dossiers this chat follows, with a stop button each."""
    if not is_private(update):
        return
    chat = update.effective_chat
    assert chat is not None
    language = await language_of(update, context)
    t = gettext(language)
    items = await db(domain.followed, chat.id)
    await reply_html(update, _list_text(t, items, language), reply_markup=_stop_keyboard(t, items))


async def cmd_unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/botheodoi [CODE]: stop following one dossier, or all of them."""
    if not is_private(update):
        return
    chat = update.effective_chat
    assert chat is not None
    t = gettext(await language_of(update, context))
    words = " ".join(context.args or []).strip()
    code = normalize_code(words) if words else None
    if words and code is None:
        await reply_html(
            update, t("Please send the dossier code after the command, or nothing to stop all.")
        )
        return
    ended = await db(domain.unfollow, chat.id, code)
    if ended:
        await reply_html(update, t("Stopped following {n} dossier(s).").format(n=ended))
    else:
        await reply_html(update, t("You are not following that dossier. List: /theodoi."))


async def on_stop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`unf:<code>` or `unf:*`."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat = update.effective_chat
    if chat is None:
        return
    t = gettext(await language_of(update, context))
    await query.answer()
    value = query.data[len(STOP_PREFIX) :]
    code = None if value == "*" else normalize_code(value)
    if value != "*" and code is None:
        return
    if not first_press(context, query):
        return
    ended = await db(domain.unfollow, chat.id, code)
    await mark_pressed(query, t("Stopped following {n} dossier(s).").format(n=ended))


def stats_line(t: Any) -> str:
    """The officials' line about following (/thongke); blocking: call through `db`."""
    s = domain.stats()
    return t(
        "Followed dossiers: {dossiers} (by {chats} users); notification messages sent: {sent}, "
        "waiting: {waiting}."
    ).format(
        dossiers=s.followed_dossiers,
        chats=s.following_chats,
        sent=s.messages["sent"],
        waiting=s.messages["pending"] + s.messages["sending"],
    )


async def notify_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue new notifications and hand them to the paced sender (the JobQueue runs this)."""
    try:
        report = await db(domain.notify)
    except Exception as exc:  # the next run retries: nothing was queued, the cursor is unmoved
        log.error("follow notifier failed: %s", exc.__class__.__name__, exc_info=exc)
        return
    if report.broadcast_id is not None:
        log.info("follow notifier: %s message(s) queued", report.messages)
        context.bot_data["broadcasts"].start(report.broadcast_id)
