"""Officials' side: /thongke (statistics + chart), /thongbao (broadcasts), the handoff desk setup.

Only users registered with `trolydvc officials add` (roles admin/official) may use these
(bot.access.require_official).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import broadcast as bc
from bot import broadcast_store, store
from bot.access import require_official
from bot.buttons import mark_pressed
from bot.common import db, language_of, log, reply_html
from bot.communes import commune_by_index, commune_names
from bot.follow import stats_line
from bot.render import MAX_CAPTION_CHARS, escape
from trolydvc.formatting import fmt_int
from trolydvc.i18n import gettext
from trolydvc.tracking.chart import render_chart
from trolydvc.tracking.stats import Period, compute_report, format_report, parse_period_text
from trolydvc.vietnam_time import VN_TZ

MAX_BROADCAST_CHARS = 3500


# ---- statistics ------------------------------------------------------------------------------
def parse_period_argument(text: str) -> Period:
    """/thongke's argument: the period grammar of the chat (trolydvc.tracking.stats)."""
    return parse_period_text(text)


def _statistics(period: Period) -> tuple[str, bytes, store.FeedbackSummary]:
    report = compute_report(period, group_by="agency")
    start = datetime.combine(period.start, time.min, VN_TZ)
    end = datetime.combine(period.end + timedelta(days=1), time.min, VN_TZ)
    return format_report(report), render_chart(report), store.feedback_summary(start, end)


def feedback_lines(t: Callable[[str], str], summary: store.FeedbackSummary) -> str:
    if summary.count:
        average = format_decimal(summary.average or 0, format="#,##0.0", locale="vi_VN")
        ratings = t("Citizens' ratings in the bot: {n}, average {avg}/5.").format(
            n=fmt_int(summary.count), avg=average
        )
    else:
        ratings = t("Citizens' ratings in the bot: none in this period.")
    cases = t("Requests to talk to an official: {n}.").format(n=fmt_int(summary.handoff_cases))
    return escape(ratings) + "\n" + escape(cases)


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await require_official(update, context, "/thongke") is None:
        return
    t = gettext(await language_of(update, context))
    chat = update.effective_chat
    assert chat is not None
    argument = " ".join(context.args or [])[:60]
    try:
        period = parse_period_argument(argument)
    except ValueError:
        await reply_html(
            update,
            t(
                "I did not understand the period. Examples: /thongke (this year), /thongke 10/2026, /thongke Q3/2026, /thongke 2025, /thongke 01/01/2026 - 31/03/2026."
            ),
        )
        return
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    try:
        text, png, summary = await db(_statistics, period)
    except Exception:
        log.exception("statistics failed")
        await reply_html(
            update,
            t("Sorry, the statistics could not be computed. Please check the dossier database."),
        )
        return
    await reply_html(
        update,
        escape(text) + "\n\n" + feedback_lines(t, summary) + "\n" + await db(stats_line, t),
    )
    await context.bot.send_photo(
        chat.id, png, caption=t("Chart of the report above")[:MAX_CAPTION_CHARS]
    )


# ---- broadcasts ------------------------------------------------------------------------------
async def cmd_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    official = await require_official(update, context, "/thongbao")
    if official is None:
        return
    t = gettext(await language_of(update, context))
    if update.effective_chat is None or update.effective_chat.type != "private":
        await reply_html(update, t("Please compose announcements in a private chat with me."))
        return
    message = update.effective_message
    assert message is not None
    text_html = message.text_html or ""
    body = text_html.split(None, 1)[1].strip() if len(text_html.split(None, 1)) > 1 else ""
    context.user_data["compose"] = {"stage": "text", "official_id": official.id}
    if body:
        await _take_text(update, context, body)
        return
    await reply_html(
        update,
        t(
            "Send me the text of the announcement (formatting such as bold is kept). To cancel: /huy."
        ),
    )


async def take_compose_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Called for private text: True when it was the announcement being composed."""
    compose = context.user_data.get("compose") if context.user_data is not None else None
    if not compose or compose.get("stage") != "text":
        return False
    message = update.effective_message
    assert message is not None
    await _take_text(update, context, message.text_html or "")
    return True


async def _take_text(update: Update, context: ContextTypes.DEFAULT_TYPE, body: str) -> None:
    t = gettext(await language_of(update, context))
    compose = context.user_data["compose"]
    if len(body) > MAX_BROADCAST_CHARS:
        await reply_html(
            update,
            t(
                "The announcement is too long ({n} characters; at most {limit}). Please shorten it."
            ).format(n=fmt_int(len(body)), limit=fmt_int(MAX_BROADCAST_CHARS)),
        )
        return
    compose.update(stage="audience", text=body)
    await reply_html(update, t("<b>Preview</b> (this is exactly what subscribers will receive):"))
    await context.bot.send_message(update.effective_chat.id, body, parse_mode=ParseMode.HTML)
    communes = commune_names()
    total = await db(broadcast_store.audience_size, None)
    rows = [
        [
            InlineKeyboardButton(
                t("All subscribers ({n})").format(n=fmt_int(total)), callback_data="bc:aud:*"
            )
        ]
    ]
    for index, name in enumerate(communes):
        size = await db(broadcast_store.audience_size, name)
        rows.append(
            [InlineKeyboardButton(f"{name} ({fmt_int(size)})", callback_data=f"bc:aud:{index}")]
        )
    rows.append([InlineKeyboardButton(t("Cancel"), callback_data="bc:cancel")])
    await reply_html(update, t("Who should receive it?"), reply_markup=InlineKeyboardMarkup(rows))


async def cmd_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = gettext(await language_of(update, context))
    if context.user_data is not None and context.user_data.pop("compose", None):
        await reply_html(update, t("The announcement was cancelled; nothing was sent."))
    else:
        await reply_html(update, t("There is nothing to cancel."))


def parse_schedule(text: str, now: datetime | None = None) -> datetime | None:
    """'HH:MM DD/MM/YYYY' or 'HH:MM' (today, Vietnam time) -> an aware UTC-comparable datetime."""
    now_local = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    text = text.strip()
    for pattern in ("%H:%M %d/%m/%Y", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=VN_TZ)
        except ValueError:
            continue
    try:
        clock = datetime.strptime(text, "%H:%M")
    except ValueError:
        return None
    return now_local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)


async def take_schedule_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    compose = context.user_data.get("compose") if context.user_data is not None else None
    if not compose or compose.get("stage") != "schedule":
        return False
    t = gettext(await language_of(update, context))
    message = update.effective_message
    when = parse_schedule((message.text or "")[:40]) if message else None
    if when is None or when <= datetime.now(VN_TZ):
        await reply_html(
            update,
            t(
                "Please give a future time as HH:MM DD/MM/YYYY (Vietnam time), for example 08:00 15/12/2026. To cancel: /huy."
            ),
        )
        return True
    await _create(update, context, compose, when)
    return True


async def on_broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons of an announcement being composed (`bc:aud:<commune>`, `bc:send`, ...)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    data = query.data
    if await require_official(update, context, "broadcast button") is None:
        return
    t = gettext(await language_of(update, context))
    compose = context.user_data.get("compose")
    if not compose or compose.get("stage") not in ("audience", "confirm"):
        await query.answer(
            t("This announcement draft is no longer open. Start again with /thongbao.")
        )
        await mark_pressed(query, None)
        return
    await query.answer()
    parts = data.split(":")
    if parts[1] == "cancel":
        context.user_data.pop("compose", None)
        await mark_pressed(query, t("Cancelled"))
        await reply_html(update, t("The announcement was cancelled; nothing was sent."))
        return
    if parts[1] == "aud" and compose["stage"] == "audience":
        valid, commune = commune_by_index(parts[2] if len(parts) > 2 else "")
        if not valid:
            await mark_pressed(query, None)
            return
        size = await db(broadcast_store.audience_size, commune)
        compose.update(stage="confirm", commune=commune)
        label = commune or t("all subscribers")
        await mark_pressed(query, label)
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t("Send now"), callback_data="bc:send")],
                [InlineKeyboardButton(t("Schedule for later"), callback_data="bc:later")],
                [InlineKeyboardButton(t("Cancel"), callback_data="bc:cancel")],
            ]
        )
        await reply_html(
            update,
            t("Send this announcement to {n} subscriber(s) ({audience})?").format(
                n=fmt_int(size), audience=escape(label)
            ),
            reply_markup=keyboard,
        )
        return
    if parts[1] == "send" and compose["stage"] == "confirm":
        await mark_pressed(query, t("Send now"))
        await _create(update, context, compose, None)
        return
    if parts[1] == "later" and compose["stage"] == "confirm":
        compose["stage"] = "schedule"
        await mark_pressed(query, t("Schedule for later"))
        await reply_html(
            update,
            t(
                "When should it be sent? Write the time as HH:MM DD/MM/YYYY (Vietnam time), for example 08:00 15/12/2026."
            ),
        )
        return
    await mark_pressed(query, None)


async def _create(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    compose: dict[str, Any],
    when: datetime | None,
) -> None:
    language = await language_of(update, context)
    t = gettext(language)
    chat = update.effective_chat
    assert chat is not None
    context.user_data.pop("compose", None)
    broadcast_id = await db(
        broadcast_store.create_broadcast,
        compose["text"],
        author_id=compose.get("official_id"),
        commune=compose.get("commune"),
        scheduled_at=when,
        progress_chat_id=chat.id,
        language=language,
    )
    log.info("broadcast %s created (%s)", broadcast_id, "scheduled" if when else "now")
    manager: bc.BroadcastManager = context.bot_data["broadcasts"]
    if when is not None:
        local = when.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
        await reply_html(
            update,
            t(
                "Announcement #{id} is scheduled for {when}. To cancel it before then: /huythongbao {id}"
            ).format(id=broadcast_id, when=local),
        )
        return
    message = await context.bot.send_message(
        chat.id,
        t("Announcement #{id}: starting…").format(id=broadcast_id),
        parse_mode=ParseMode.HTML,
    )
    await db(broadcast_store.set_progress_message, broadcast_id, message.message_id)
    manager.start(broadcast_id)


async def cmd_cancel_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await require_official(update, context, "/huythongbao") is None:
        return
    t = gettext(await language_of(update, context))
    arg = " ".join(context.args or []).strip().lstrip("#")
    if not arg.isdigit() or len(arg) > 12:
        await reply_html(
            update, t("Usage: /huythongbao NUMBER (the number of a scheduled announcement).")
        )
        return
    if await db(broadcast_store.cancel_broadcast, int(arg)):
        await reply_html(update, t("Announcement #{id} was cancelled.").format(id=int(arg)))
    else:
        await reply_html(
            update,
            t("Announcement #{id} is not scheduled (already sent, cancelled or unknown).").format(
                id=int(arg)
            ),
        )


def progress_text(
    t: Callable[[str], str], broadcast_id: int, found: dict[str, int], final: bool
) -> str:
    total = sum(found.values())
    done = found["sent"] + found["blocked"] + found["failed"] + found["unknown"]
    head = (
        t("<b>Announcement #{id}: finished.</b>")
        if final
        else t("<b>Announcement #{id}: sending…</b> {done}/{total}")
    ).format(id=broadcast_id, done=fmt_int(done), total=fmt_int(total))
    lines = [
        head,
        t("Sent: {n}").format(n=fmt_int(found["sent"])),
        t("Blocked the bot (unsubscribed): {n}").format(n=fmt_int(found["blocked"])),
        t("Failed: {n}").format(n=fmt_int(found["failed"])),
    ]
    if found["unknown"]:
        lines.append(
            t("Unknown (the bot stopped abruptly while sending; not resent): {n}").format(
                n=fmt_int(found["unknown"])
            )
        )
    if not final and found["pending"]:
        lines.append(t("Waiting: {n}").format(n=fmt_int(found["pending"] + found["sending"])))
    return "\n".join(lines)


def make_progress_reporter(bot: Any) -> bc.ProgressCallback:
    async def report(broadcast_id: int, found: dict[str, int], final: bool) -> None:
        info = await db(broadcast_store.get_broadcast, broadcast_id)
        if info is None or info.progress_chat_id is None:
            return
        t = gettext(info.language)
        text = progress_text(t, broadcast_id, found, final)
        if not info.progress_message_id and not final:
            message = await bot.send_message(info.progress_chat_id, text, parse_mode=ParseMode.HTML)
            await db(broadcast_store.set_progress_message, broadcast_id, message.message_id)
        elif info.progress_message_id:
            try:
                await bot.edit_message_text(
                    text,
                    chat_id=info.progress_chat_id,
                    message_id=info.progress_message_id,
                    parse_mode=ParseMode.HTML,
                )
            except BadRequest as exc:
                if "not modified" not in exc.message:
                    log.info("progress edit failed: %s", exc.message)
        if final:
            await bot.send_message(info.progress_chat_id, text, parse_mode=ParseMode.HTML)

    return report


# ---- setting the officials' group --------------------------------------------------------------
async def cmd_set_desk(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nhomcanbo in a group: an admin makes it the officials' handoff desk."""
    if await require_official(update, context, "/nhomcanbo", admin=True) is None:
        return
    t = gettext(await language_of(update, context))
    chat = update.effective_chat
    assert chat is not None
    if chat.type == "private":
        await reply_html(
            update,
            t("Send /nhomcanbo inside the officials' group chat to make it the handoff desk."),
        )
        return
    await db(store.set_setting, store.OFFICIALS_CHAT_KEY, str(chat.id))
    await reply_html(
        update,
        t(
            "This group is now the officials' desk: requests to talk to an official will arrive here."
        ),
    )
