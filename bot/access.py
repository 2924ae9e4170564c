"""Who may use the officials' commands and buttons: users registered with `trolydvc officials add`.

Anyone else is refused politely and the attempt is logged with a pseudonym, never a name or raw id.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import store
from bot.common import db, language_of, log, pseudonym, reply_html
from trolydvc.i18n import gettext


async def require_official(
    update: Update, context: ContextTypes.DEFAULT_TYPE, what: str, *, admin: bool = False
) -> store.OfficialInfo | None:
    """The official behind the update, or None after refusing (admin=True: admins only)."""
    user = update.effective_user
    found = await db(store.official, user.id) if user else None
    if found is not None and (not admin or found.role == "admin"):
        return found
    log.warning(
        "refused %s for user %s (not %s)",
        what,
        pseudonym(user.id if user else None),
        "an admin" if admin else "an official",
    )
    t = gettext(await language_of(update, context))
    if update.callback_query:
        await update.callback_query.answer(t("This is reserved for officials."), show_alert=True)
    else:
        await reply_html(
            update, t("Sorry, this command is reserved for the officials of the one-stop shop.")
        )
    return None
